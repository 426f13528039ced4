# Command-line options for recipe scripts, Kaldi style.  Source it after setting the defaults:
#
#   stage=1
#   nj=4
#   use_gpu=false
#   help_message="Usage: $0 [options] <data-dir>"
#   . utils/parse_options.sh
#
# Then `script.sh --nj 8 --use-gpu true data/train` sets nj=8 and use_gpu=true and leaves
# "data/train" in "$@".
#   --name value, --name=value  set the existing variable `name` (dashes map to underscores); an
#                               option without such a variable stops the script (exit 1); a variable
#                               whose default is true/false only takes true or false
#   --config FILE               source FILE (lines `name=value`, `#` comments) before all other
#                               options, wherever it appears, so the command line wins
#   --help, -h                  print $help_message and exit 0
#   --                          end of options
# Parsing stops at the first argument that is not an option.
# Helper variables are prefixed _po_ and unset at the end; this file must not be executed.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "Usage: . utils/parse_options.sh   (source it from a script, after setting the defaults)" >&2
  exit 1
fi

# Check that `$1` names an existing variable; print an error naming where it came from (`$2`).
_po_check_name() {
  if [[ ! "$1" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "$0: invalid option $2" >&2
    return 1
  fi
  if [ -z "${!1+set}" ]; then
    echo "$0: unknown option $2 (the script has no variable '$1')" >&2
    return 1
  fi
}

# Pass 1: source every --config file, before the other options are applied.
_po_args=("$@")
_po_configs=()
_po_i=0
while [ "${_po_i}" -lt "${#_po_args[@]}" ]; do
  _po_opt=${_po_args[_po_i]}
  case "${_po_opt}" in
    --) break ;;
    --config=*) _po_configs+=("${_po_opt#--config=}"); _po_i=$((_po_i + 1)) ;;
    --config)
      if [ $((_po_i + 1)) -ge "${#_po_args[@]}" ]; then
        echo "$0: option --config needs a value" >&2
        exit 1
      fi
      _po_configs+=("${_po_args[_po_i + 1]}")
      _po_i=$((_po_i + 2)) ;;
    --help | -h) break ;;
    --*=*) _po_i=$((_po_i + 1)) ;;
    --?*) _po_i=$((_po_i + 2)) ;;
    *) break ;;
  esac
done
for _po_config in "${_po_configs[@]+"${_po_configs[@]}"}"; do
  if [ ! -f "${_po_config}" ]; then
    echo "$0: --config ${_po_config}: no such file" >&2
    exit 1
  fi
  _po_lineno=0
  while IFS= read -r _po_line || [ -n "${_po_line}" ]; do
    _po_lineno=$((_po_lineno + 1))
    [[ "${_po_line}" =~ ^[[:space:]]*(#.*)?$ ]] && continue
    if [[ ! "${_po_line}" =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)= ]]; then
      echo "$0: ${_po_config}:${_po_lineno}: expected name=value, got '${_po_line}'" >&2
      exit 1
    fi
    _po_name=${BASH_REMATCH[1]}
    _po_check_name "${_po_name}" "${_po_name} in ${_po_config}:${_po_lineno}" || exit 1
  done < "${_po_config}"
  # shellcheck disable=SC1090
  . "${_po_config}"
done

# Pass 2: the options themselves, in order.
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    --help | -h)
      if [ -n "${help_message+set}" ]; then
        printf '%s\n' "${help_message}"
      else
        echo "$0: no help message; options are the script's variables, as --name value"
      fi
      exit 0 ;;
    --config=*) shift; continue ;;
    --config) shift 2; continue ;;
    --*=*) _po_name=${1%%=*}; _po_value=${1#*=}; _po_opt=${_po_name}; shift ;;
    --?*)
      _po_name=$1; _po_opt=$1
      if [ $# -lt 2 ]; then
        echo "$0: option $1 needs a value" >&2
        exit 1
      fi
      _po_value=$2; shift 2 ;;
    *) break ;;
  esac
  _po_name=${_po_name#--}
  _po_name=${_po_name//-/_}
  _po_check_name "${_po_name}" "${_po_opt}" || exit 1
  case "${!_po_name}" in
    true | false)
      if [ "${_po_value}" != true ] && [ "${_po_value}" != false ]; then
        echo "$0: option ${_po_opt} takes true or false, got '${_po_value}'" >&2
        exit 1
      fi ;;
  esac
  printf -v "${_po_name}" '%s' "${_po_value}"
done

unset -f _po_check_name
unset _po_args _po_i _po_opt _po_configs _po_config _po_lineno _po_line _po_name _po_value
true
