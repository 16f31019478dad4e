#!/bin/bash
# action-check.sh: the GitHub Action's step (action.yml). Installs layerscope, runs
# `layerscope check` and records the verdict. The runner supplies GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY and GITHUB_ACTIONS=true; `check` itself writes the job summary and
# prints the annotations (--github). Inputs come as environment variables:
#
#   LAYERSCOPE_IMAGE        the image reference (empty: every image the config names)
#   LAYERSCOPE_CONFIG       the config file (empty: check's own search)
#   LAYERSCOPE_VERSION      "" (install LAYERSCOPE_ACTION_PATH), a version (layerscope==X),
#                           another pip requirement, or "installed" (install nothing)
#   LAYERSCOPE_ARGS         extra arguments, split on whitespace
#   LAYERSCOPE_JUNIT        a JUnit XML file to write (empty: none)
#   LAYERSCOPE_ACTION_PATH  the action's checkout (the runner's github.action_path)
#   LAYERSCOPE_PYTHON       the interpreter (default: python, else python3)
#
# Exit status is check's: 0 pass, 1 a budget failed, 2 bad input or configuration.
# GITHUB_OUTPUT gets verdict=pass|fail|error in every case.
set -uo pipefail

PY=${LAYERSCOPE_PYTHON:-}
if [ -z "$PY" ]; then PY=$(command -v python || command -v python3) || { echo "layerscope action: no python on PATH" >&2; exit 2; }; fi
ACTION_PATH=${LAYERSCOPE_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}
VERSION=${LAYERSCOPE_VERSION:-}

verdict() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "verdict=$1" >> "$GITHUB_OUTPUT"; fi
}

case "$VERSION" in
  installed) ;;
  "") spec=$ACTION_PATH ;;
  [0-9]*) spec="layerscope==$VERSION" ;;
  *) spec=$VERSION ;;
esac
if [ "$VERSION" != installed ]; then
  echo "::group::pip install $spec"
  if ! "$PY" -m pip install --quiet --disable-pip-version-check "$spec"; then
    echo "::endgroup::"
    echo "::error title=layerscope::could not install layerscope ($spec)"
    verdict error
    exit 2
  fi
  echo "::endgroup::"
fi

cmd=("$PY" -m layerscope check --github)
if [ -n "${LAYERSCOPE_CONFIG:-}" ]; then cmd+=(--config "$LAYERSCOPE_CONFIG"); fi
if [ -n "${LAYERSCOPE_JUNIT:-}" ]; then cmd+=(--junit "$LAYERSCOPE_JUNIT"); fi
if [ -n "${LAYERSCOPE_ARGS:-}" ]; then
  read -r -a extra <<< "$LAYERSCOPE_ARGS"   # whitespace only: no quotes, globs or expansions
  cmd+=("${extra[@]}")
fi
if [ -n "${LAYERSCOPE_IMAGE:-}" ]; then cmd+=(-- "$LAYERSCOPE_IMAGE"); fi

"${cmd[@]}"
rc=$?
case $rc in
  0) verdict pass ;;
  1) verdict fail ;;
  *) verdict error ;;
esac
exit "$rc"
