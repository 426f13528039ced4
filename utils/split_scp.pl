#!/usr/bin/env perl
# Split an scp (or any table keyed by utterance) into contiguous parts of near-equal size.
use v5.36;
use File::Basename qw(dirname);
use File::Path qw(make_path);

my $usage = <<'END';
Usage: split_scp.pl [--utt2spk=<utt2spk>] <in.scp> <out.1.scp> [<out.2.scp> ...]
Splits <in.scp> into as many contiguous parts as outputs, in order, with near-equal line counts
(sizes differ by at most one without --utt2spk). With --utt2spk, a speaker's utterances stay in
one part (they must be contiguous in <in.scp>, as in a sorted data dir with speaker-prefixed
utterance ids). Fails when there are more outputs than lines (or speakers).
  e.g. split_scp.pl data/train/wav.scp data/train/split2/1/wav.scp data/train/split2/2/wav.scp
END

sub fail($msg) {
    print STDERR "split_scp.pl: $msg\n";
    exit 1;
}

sub usage_error($msg) {
    print STDERR "split_scp.pl: $msg\n" if $msg;
    print STDERR $usage;
    exit 1;
}

my $utt2spk_file;
while (@ARGV && $ARGV[0] =~ /^--/) {
    my $arg = shift @ARGV;
    usage_error("unknown option $arg") unless $arg =~ /^--utt2spk(?:=(.+))?$/;
    $utt2spk_file = $1 // shift(@ARGV) // usage_error("--utt2spk needs a file");
}
usage_error("") if @ARGV < 2;
my ($in, @outs) = @ARGV;

sub read_lines($path) {
    open(my $fh, "<", $path) or fail("cannot read $path: $!");
    my @lines = <$fh>;
    for my $i (0 .. $#lines) {
        fail("$path:" . ($i + 1) . ": empty line") if $lines[$i] !~ /\S/;
        $lines[$i] .= "\n" if $lines[$i] !~ /\n$/;
    }
    return @lines;
}

# Groups of consecutive lines that must stay together: one line each, or one speaker each.
my @lines = read_lines($in);
my @groups;
if (defined $utt2spk_file) {
    my %spk;
    my @u2s = read_lines($utt2spk_file);
    for my $i (0 .. $#u2s) {
        my ($utt, $spk) = split " ", $u2s[$i];
        fail("$utt2spk_file:" . ($i + 1) . ": expected '<utt> <speaker>'") unless defined $spk;
        $spk{$utt} = $spk;
    }
    my (%seen, $previous);
    for my $i (0 .. $#lines) {
        my ($utt) = split " ", $lines[$i];
        my $where = "$in:" . ($i + 1);
        my $spk = $spk{$utt} // fail("$where: utterance $utt is not in $utt2spk_file");
        if (defined $previous && $spk eq $previous) {
            push @{ $groups[-1] }, $lines[$i];
            next;
        }
        fail("$where: the utterances of speaker $spk are not contiguous") if $seen{$spk}++;
        push @groups, [ $lines[$i] ];
        $previous = $spk;
    }
} else {
    @groups = map { [$_] } @lines;
}
my ($n, $k, $m) = (scalar @lines, scalar @groups, scalar @outs);
my $unit = defined $utt2spk_file ? "speakers" : "lines";
fail("$m outputs but only $k $unit in $in") if $m > $k;

# Cut after group b_j nearest to j*n/m (ties: the later cut, so earlier parts are the larger),
# leaving at least one group for each part still to come.
my @cum = (0);
push @cum, $cum[-1] + @{$_} for @groups;
my @cuts = (0);
for my $j (1 .. $m - 1) {
    my $target = $j * $n / $m;
    my $best = $cuts[-1] + 1;
    for my $b ($best + 1 .. $k - ($m - $j)) {
        $best = $b if abs($cum[$b] - $target) <= abs($cum[$best] - $target);
    }
    push @cuts, $best;
}
push @cuts, $k;

for my $j (0 .. $m - 1) {
    my $out = $outs[$j];
    make_path(dirname($out));
    my $tmp = "$out.tmp.$$";
    open(my $fh, ">", $tmp) or fail("cannot write $tmp: $!");
    print $fh @{$_} for @groups[ $cuts[$j] .. $cuts[ $j + 1 ] - 1 ];
    close($fh) or fail("cannot write $tmp: $!");
    rename($tmp, $out) or fail("cannot rename $tmp to $out: $!");
}
