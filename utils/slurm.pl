#!/usr/bin/env perl
# Run a command as N Slurm jobs, one log per job: run.pl's interface, with sbatch underneath.
use v5.36;
use Cwd qw(getcwd);
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use File::Spec;
use FindBin qw($RealBin);
use Time::HiRes qw(sleep time);
use lib $RealBin;
use CmdBackend qw(parse_command_line job_log job_command report_failures shell_quote);

my $usage = <<'END';
Usage: slurm.pl [options] [JOB=1:N] <log-file> <command> [<args>...]
Same as run.pl, on a Slurm cluster: submits one array job with sbatch (one task per index), waits
until every task has written its done file (<log-dir>/q/<name>.<index>.done, holding the exit
code), and exits 1 naming the failed logs. The job scripts are kept in <log-dir>/q/, with Slurm's
own output of each task (<name>.<index>.out).
  e.g. slurm.pl --mem 8G --gpu 1 JOB=1:4 exp/log/extract.JOB.log python -m emorl.bin.extract \
         --job JOB --nj 4
Options (each maps to an sbatch flag):
  --mem M             --mem=M (memory per node, e.g. 4G)
  --gpu N             --gres=gpu:N (0: none)
  --time T            --time=T (e.g. 2:00:00)
  --partition P       --partition=P
  --num_threads N     --cpus-per-task=N
  --max_jobs_run N    at most N tasks at once (--array=1-N%M)
  --sbatch_args S     further sbatch arguments, e.g. "--account=a --qos=q"
  --config F          defaults for these options, one `--name value` a line (`#` comments);
                      the command line wins
  --check_interval S  every S seconds (default 30) ask squeue whether the job still exists; tasks
                      gone from the queue without a done file count as failed
END

sub fail($msg) {
    print STDERR "slurm.pl: $msg\n";
    exit 1;
}

my @names = qw(mem gpu time partition num_threads max_jobs_run sbatch_args config check_interval);
my $spec = parse_command_line("slurm.pl", $usage, { map { $_ => undef } @names }, \@ARGV);
my $opt = $spec->{options};
if (defined $opt->{config}) {
    open(my $fh, "<", $opt->{config}) or fail("--config $opt->{config}: $!");
    while (my $line = <$fh>) {
        next if $line =~ /^\s*(#.*)?$/;
        $line =~ /^\s*--([\w-]+)\s+(.*?)\s*$/
          or fail("$opt->{config}:$.: expected '--name value', got: $line");
        my ($name, $value) = ($1 =~ tr/-/_/r, $2);
        fail("$opt->{config}:$.: unknown option --$name")
          if !grep { $_ eq $name } @names or $name eq "config";
        $opt->{$name} //= $value;
    }
}
$opt->{check_interval} //= 30;
for my $name (qw(gpu num_threads max_jobs_run)) {
    fail("--$name takes a whole number, got '$opt->{$name}'")
      if defined $opt->{$name} && $opt->{$name} !~ /^\d+$/;
}
fail("--max_jobs_run takes a positive number")
  if defined $opt->{max_jobs_run} && !$opt->{max_jobs_run};
fail("--check_interval takes seconds, got '$opt->{check_interval}'")
  if $opt->{check_interval} !~ /^\d+(\.\d+)?$/;

my $cwd = getcwd();
my ($first, $last) = @$spec{qw(first last)};
my (%done_file, %script);
for my $job ($first .. $last) {
    my $log = File::Spec->rel2abs(job_log($spec, $job), $cwd);
    my $qdir = dirname($log) . "/q";
    make_path($qdir);
    (my $name = basename($log)) =~ s/\.log$//;
    $done_file{$job} = "$qdir/$name.done";
    $script{$job} = "$qdir/$name.sh";
    unlink($done_file{$job}, $log);  # leftovers of an earlier run
    my $cmd = job_command($spec, $job);
    open(my $fh, ">", $script{$job}) or fail("cannot write $script{$job}: $!");
    print $fh <<"END";
#!/usr/bin/env bash
# written by slurm.pl: job $job of $spec->{log}
cd @{[shell_quote($cwd)]} || exit 1
log=@{[shell_quote($log)]}
done_file=@{[shell_quote($done_file{$job})]}
{
  printf '%s\\n' @{[shell_quote("# $cmd")]}
  echo "# Started at \$(date)"
  echo "# Running on \$(hostname) as Slurm job \${SLURM_JOB_ID:-?}"
  echo "#"
} > "\$log"
bash -c @{[shell_quote($cmd)]} >> "\$log" 2>&1 < /dev/null
code=\$?
echo "# Ended (code \$code) at \$(date), elapsed time \$SECONDS seconds" >> "\$log"
echo "\$code" > "\$done_file.tmp" && mv "\$done_file.tmp" "\$done_file"
exit "\$code"
END
    close($fh) or fail("cannot write $script{$job}: $!");
}

# Submit: one job for the non-array form, otherwise an array job whose task runs its own script.
my $qdir = dirname($script{$first});
# Slurm's own output goes beside the job scripts; %a is the array task index.
(my $output = basename(job_log($spec, "%a"))) =~ s/(\.log)?$/.out/;
(my $jobname = basename($spec->{log})) =~ s/\.log$//;
my @sbatch = ("sbatch", "--parsable", "--export=ALL", "--job-name=$jobname");
push @sbatch, "--mem=$opt->{mem}" if defined $opt->{mem};
push @sbatch, "--gres=gpu:$opt->{gpu}" if $opt->{gpu};
push @sbatch, "--time=$opt->{time}" if defined $opt->{time};
push @sbatch, "--partition=$opt->{partition}" if defined $opt->{partition};
push @sbatch, "--cpus-per-task=$opt->{num_threads}" if defined $opt->{num_threads};
push @sbatch, split(" ", $opt->{sbatch_args}) if defined $opt->{sbatch_args};
my $submit;
if (defined $spec->{jobvar}) {
    my $array = "$first-$last" . (defined $opt->{max_jobs_run} ? "%$opt->{max_jobs_run}" : "");
    push @sbatch, "--array=$array", "--output=$qdir/$output";
    $submit = "$qdir/$jobname.array.sh";
    open(my $fh, ">", $submit) or fail("cannot write $submit: $!");
    print $fh "#!/usr/bin/env bash\n# written by slurm.pl: runs task \$SLURM_ARRAY_TASK_ID\n";
    print $fh "scripts=(";
    print $fh " [$_]=" . shell_quote($script{$_}) for $first .. $last;
    print $fh " )\nexec bash \"\${scripts[\$SLURM_ARRAY_TASK_ID]}\"\n";
    close($fh) or fail("cannot write $submit: $!");
} else {
    push @sbatch, "--output=$qdir/$output";
    $submit = $script{$first};
}
open(my $pipe, "-|", @sbatch, $submit) or fail("cannot run sbatch: $!");
my $answer = join "", <$pipe>;
close($pipe);
fail("sbatch failed (exit " . ($? >> 8) . "): @sbatch $submit") if $? != 0;
my ($slurm_id) = $answer =~ /^\s*(\d+)/ or fail("sbatch gave no job id: $answer");

$SIG{INT} = $SIG{TERM} = sub {
    system("scancel", $slurm_id);
    fail("interrupted; cancelled Slurm job $slurm_id");
};

# Whether Slurm has forgotten the job (undef when squeue cannot tell).
sub job_gone() {
    my $out = `squeue -h -j $slurm_id -o %i 2>&1`;
    return undef if $? == -1;
    return 1 if $out =~ /invalid job id/i;
    return $? == 0 && $out !~ /\S/ ? 1 : 0;
}

# Wait for the done files, polling ever less often (up to every 5 s).
my %pending = map { $_ => 1 } $first .. $last;
my (@failed, $gone_since);
my ($interval, $last_check) = (0.1, time());
while (%pending) {
    for my $job (keys %pending) {
        next unless -e $done_file{$job};
        open(my $fh, "<", $done_file{$job}) or next;
        my $code = <$fh> // "";
        push @failed, $job if $code !~ /^0\s*$/;
        delete $pending{$job};
    }
    last unless %pending;
    if (defined $gone_since && time() - $gone_since > $opt->{check_interval}) {
        for my $job (sort { $a <=> $b } keys %pending) {
            my $log = job_log($spec, $job);
            if (open(my $fh, ">>", $log)) {
                print $fh "# slurm.pl: Slurm job $slurm_id ended without finishing this task "
                  . "(killed? see $qdir)\n";
            }
            push @failed, $job;
        }
        last;
    }
    sleep($interval);
    $interval = $interval * 1.5 > 5 ? 5 : $interval * 1.5;
    if (!defined $gone_since && time() - $last_check >= $opt->{check_interval}) {
        $last_check = time();
        $gone_since = time() if job_gone();
    }
}
exit report_failures("slurm.pl", $spec, @failed);
