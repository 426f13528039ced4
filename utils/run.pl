#!/usr/bin/env perl
# Run a command as N local jobs, one log per job: Kaldi's run.pl interface, written for emorl.
use v5.36;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use FindBin qw($RealBin);
use POSIX ();
use lib $RealBin;
use CmdBackend qw(parse_command_line job_log job_command report_failures);

my $usage = <<'END';
Usage: run.pl [options] [JOB=1:N] <log-file> <command> [<args>...]
Runs <command> once, or once per job index with JOB=1:N (or another name, e.g. SPLIT=1:N),
replacing the name by the index in <log-file> and in the arguments. Each job runs through
`bash -c`, so the command may hold shell syntax: an argument without whitespace is passed as is
(`\|` gives a pipe), one with whitespace is quoted; a command given as one argument is passed
whole (run.pl log/a.log "sort x | uniq -c > y"). Each log starts with the command line and the
start time and ends with the exit code and the end time. Exits 1 if any job failed, naming the
failed logs.
  e.g. run.pl JOB=1:4 exp/log/extract.JOB.log python -m emorl.bin.extract --job JOB --nj 4
Options:
  --max_jobs_run N    at most N jobs at once (default: the number of CPU cores)
  --mem M, --gpu N, --time T, --partition P, --num_threads N, --sbatch_args S, --config F
                      accepted and ignored, so that run.pl and slurm.pl take the same options
END

sub num_cores() {
    # GNU nproc reports OMP_NUM_THREADS when it is set: a recipe run with OMP_NUM_THREADS=1 (one
    # thread per job) would then run its jobs one at a time.
    for my $probe ("env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc", "getconf _NPROCESSORS_ONLN",
                   "sysctl -n hw.ncpu") {
        my $n = `$probe 2>/dev/null`;
        return $1 if defined $n && $n =~ /^\s*(\d+)\s*$/ && $1 > 0;
    }
    return 1;
}

my %defaults = map { $_ => undef } qw(max_jobs_run mem gpu time partition num_threads sbatch_args
  config);
my $spec = parse_command_line("run.pl", $usage, \%defaults, \@ARGV);
my $max_jobs_run = $spec->{options}{max_jobs_run} // num_cores();
if ($max_jobs_run !~ /^[1-9]\d*$/) {
    print STDERR "run.pl: --max_jobs_run takes a positive integer, got '$max_jobs_run'\n$usage";
    exit 1;
}

# One job (in a child process): write the header, run the command into the log, write the footer.
sub run_job($job) {
    my $log = job_log($spec, $job);
    my $cmd = job_command($spec, $job);
    make_path(dirname($log));
    open(my $fh, ">", $log) or die "run.pl: cannot write log file $log: $!\n";
    my $start = time();
    print $fh "# $cmd\n# Started at " . localtime($start) . "\n#\n";
    close($fh);
    open(STDIN, "<", "/dev/null") or die "run.pl: /dev/null: $!\n";
    open(STDOUT, ">>", $log) or die "run.pl: cannot append to $log: $!\n";
    open(STDERR, ">&", \*STDOUT) or die "run.pl: cannot redirect stderr: $!\n";
    system("bash", "-c", $cmd);
    my $code = $? == -1 ? 127 : ($? & 127) ? 128 + ($? & 127) : $? >> 8;
    my $end = time();
    my $elapsed = $end - $start;
    print "# Ended (code $code) at " . localtime($end) . ", elapsed time $elapsed seconds\n";
    close(STDOUT);
    return $code;
}

my (%pid2job, @failed);
sub reap() {
    my $pid = wait();
    die "run.pl: lost track of a job\n" if $pid < 0;
    my $job = delete $pid2job{$pid};
    push @failed, $job if $? != 0;
}

for my $job ($spec->{first} .. $spec->{last}) {
    reap() while keys %pid2job >= $max_jobs_run;
    my $pid = fork() // die "run.pl: fork failed: $!\n";
    if ($pid == 0) {
        my $code = eval { run_job($job) };
        print STDERR $@ if $@;
        POSIX::_exit(defined $code && $code == 0 ? 0 : 1);
    }
    $pid2job{$pid} = $job;
}
reap() while %pid2job;
exit report_failures("run.pl", $spec, @failed);
