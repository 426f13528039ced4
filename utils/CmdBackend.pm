# What the job backends run.pl and slurm.pl share: their command line, job substitution, the
# command given to bash, and the failure report.
package CmdBackend;
use v5.36;
use Exporter qw(import);

our @EXPORT_OK = qw(parse_command_line job_log job_command report_failures shell_quote);

# Parse `[options] [JOB=a:b] <log> <command>...` from @$argv.  $options maps each option name
# (underscores; dashes are accepted too) to its default; $usage is printed on any error (exit 1).
# Returns a hash: options, jobvar (undef for one job), first, last, log, cmd (array ref).
sub parse_command_line($prog, $usage, $options, $argv) {
    my @args = @$argv;
    my $error = sub ($msg) {
        print STDERR "$prog: $msg\n" if $msg;
        print STDERR $usage;
        exit 1;
    };
    my %opts = %$options;
    while (@args && $args[0] =~ /^--([\w-]+)(?:=(.*))?$/s) {
        shift @args;
        my ($name, $value) = ($1 =~ tr/-/_/r, $2);
        $error->("unknown option --$name") unless exists $opts{$name};
        $value //= shift(@args) // $error->("option --$name needs a value");
        $opts{$name} = $value;
    }
    my %spec = (options => \%opts, jobvar => undef, first => 1, last => 1);
    if (@args && $args[0] =~ /^([A-Za-z_]\w*)=(\d+)(?::(\d+))?$/) {
        @spec{qw(jobvar first last)} = ($1, $2, $3 // $2);
        shift @args;
        $error->("empty job range $spec{jobvar}=$spec{first}:$spec{last}")
          if $spec{first} > $spec{last};
    }
    $error->("") if @args < 2;
    ($spec{log}, my @cmd) = @args;
    $spec{cmd} = \@cmd;
    my $jobvar = $spec{jobvar};
    if (defined $jobvar && $spec{last} > $spec{first} && index($spec{log}, $jobvar) < 0) {
        $error->("several jobs would share one log file: put $jobvar in the name of $spec{log}");
    }
    return \%spec;
}

sub _substitute($spec, $job, $text) {
    return defined $spec->{jobvar} ? $text =~ s/\Q$spec->{jobvar}\E/$job/gr : $text;
}

# The log file of job $job.
sub job_log($spec, $job) {
    return _substitute($spec, $job, $spec->{log});
}

# The command line of job $job, for `bash -c`.  Kaldi's rule: a word without whitespace stays
# shell syntax (so `\|` gives a pipe), a word with whitespace is single-quoted; a command given as
# one argument is taken whole.
sub job_command($spec, $job) {
    my @words = map { _substitute($spec, $job, $_) } @{ $spec->{cmd} };
    return $words[0] if @words == 1;
    return join " ", map { /^\S+$/ ? $_ : shell_quote($_) } @words;
}

# $text in single quotes, for bash.
sub shell_quote($text) {
    return "'" . $text =~ s/'/'\\''/gr . "'";
}

# Print `<prog>: N / M failed, log is in ...` for the failed jobs; return the exit code.
sub report_failures($prog, $spec, @failed) {
    return 0 unless @failed;
    my $total = $spec->{last} - $spec->{first} + 1;
    my $which = @failed == 1 ? "log is in" : "logs are in";
    my @logs = map { job_log($spec, $_) } sort { $a <=> $b } @failed;
    print STDERR "$prog: " . scalar(@failed) . " / $total failed, $which @logs\n";
    return 1;
}

1;
