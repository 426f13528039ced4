# Where the corpus lives: set it here, or export CASIA before running ./run.sh.
# CASIA: the directory that holds the four speaker folders (liuchanhg, wangzhe, zhaoquanyin, ZhaoZuoxiang).
CASIA=${CASIA:-}
