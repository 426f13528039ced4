#!/usr/bin/env perl
# Invert utt2spk into spk2utt: speakers sorted, each speaker's utterances sorted (C order).
use v5.36;

sub fail($msg) {
    print STDERR "utt2spk_to_spk2utt.pl: $msg\n";
    exit 1;
}

if (@ARGV > 1 || (@ARGV && $ARGV[0] =~ /^-./)) {
    print STDERR "Usage: utt2spk_to_spk2utt.pl [<utt2spk>] > spk2utt   (no file: reads stdin)\n";
    exit 1;
}
my $name = $ARGV[0] // "stdin";
my $in = \*STDIN;
open($in, "<", $name) or fail("cannot read $name: $!") if @ARGV;
my (%spk2utts, %seen);
while (my $line = <$in>) {
    chomp $line;
    my @fields = split " ", $line;
    fail("$name:$.: expected '<utt> <speaker>', got: $line") if @fields != 2;
    my ($utt, $spk) = @fields;
    fail("$name:$.: duplicate utterance $utt") if $seen{$utt}++;
    push @{ $spk2utts{$spk} }, $utt;
}
print "$_ " . join(" ", sort @{ $spk2utts{$_} }) . "\n" for sort keys %spk2utts;
