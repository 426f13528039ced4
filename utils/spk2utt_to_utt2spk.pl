#!/usr/bin/env perl
# Invert spk2utt into utt2spk, sorted by utterance (C order).
use v5.36;

sub fail($msg) {
    print STDERR "spk2utt_to_utt2spk.pl: $msg\n";
    exit 1;
}

if (@ARGV > 1 || (@ARGV && $ARGV[0] =~ /^-./)) {
    print STDERR "Usage: spk2utt_to_utt2spk.pl [<spk2utt>] > utt2spk   (no file: reads stdin)\n";
    exit 1;
}
my $name = $ARGV[0] // "stdin";
my $in = \*STDIN;
open($in, "<", $name) or fail("cannot read $name: $!") if @ARGV;
my %utt2spk;
while (my $line = <$in>) {
    chomp $line;
    my ($spk, @utts) = split " ", $line;
    fail("$name:$.: expected '<speaker> <utt> ...', got: $line") if !@utts;
    for my $utt (@utts) {
        fail("$name:$.: utterance $utt already belongs to speaker $utt2spk{$utt}")
          if exists $utt2spk{$utt};
        $utt2spk{$utt} = $spk;
    }
}
print "$_ $utt2spk{$_}\n" for sort keys %utt2spk;
