#!/usr/bin/env bash
# cfn-lint over cdk.out (run `npm run synth` first); configuration and the policy in .cfnlintrc.
# Fails on any error or warning. When cfn-lint is missing it says how to install it and skips, unless
# CFN_LINT_REQUIRED=1 (.ci/run sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cfn-lint >/dev/null 2>&1; then
  hint="install it with 'pip install cfn-lint' (Python 3.9+; no Debian package in bookworm), then run 'npm run lint:cfn'"
  if [ "${CFN_LINT_REQUIRED:-0}" = 1 ]; then
    echo "cfn-lint is required and not installed: $hint" >&2
    exit 1
  fi
  echo "SKIPPED cfn-lint (not installed): $hint" >&2
  exit 0
fi
if ! compgen -G "cdk.out/*.template.json" >/dev/null; then
  echo "no cdk.out/*.template.json: run 'npm run synth' first" >&2
  exit 1
fi
echo "$(cfn-lint --version) over $(ls cdk.out/*.template.json | tr '\n' ' ')(regions and policy: .cfnlintrc)"
if cfn-lint --config-file .cfnlintrc --non-zero-exit-code warning; then
  echo "cfn-lint: 0 errors, 0 warnings"
else
  echo "cfn-lint found errors or warnings (above): fix them in lib/, or list a warning in .cfnlintrc with its reason" >&2
  exit 1
fi
