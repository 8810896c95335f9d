#!/usr/bin/env bash
# Deploys remote-exports in every region where consumer stacks live, from one command: the home
# region first (it owns the read registry and runs the one audit), then each other region with the
# home registry's ARN. CloudFormation invokes a custom resource only through a ServiceToken in the
# stack's own region, hence one function per region, all with the same name.
#
#   examples/deploy-regions.sh HOME_REGION [OTHER_REGION ...] [-- extra sam deploy --parameter-overrides]
#   examples/deploy-regions.sh eu-west-1 us-east-1 ap-southeast-2 -- OrganizationId=o-abc123def4 "AuditSchedule=rate(1 hour)"
#
# From a release (no Rust needed): run the copy in target/dist/<version>/ (or the release download),
# which deploys the template.yaml beside it, built zip and all; in a source checkout it runs
# `sam build` first. TEMPLATE=path/to/template.yaml names another built template.
#
# DRY_RUN=1 prints the commands instead of running them. STACK_NAME (default remote-exports) names
# the stack in every region. AuditSchedule, when given, applies to the home region only. Each
# deployment shows its change set and waits for your confirmation; NO_CONFIRM=1 deploys without
# asking (for pipelines that review the change elsewhere). ResponseUrlBinding=host-only is refused:
# an escape hatch for one region, decided there, never copied to every region.
set -euo pipefail

stack=${STACK_NAME:-remote-exports}
regions=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regions+=("$1"); shift; done
[ $# -gt 0 ] && shift
overrides=("$@")
if [ ${#regions[@]} -eq 0 ]; then
  echo "usage: $0 HOME_REGION [OTHER_REGION ...] [-- NAME=VALUE ...]" >&2
  exit 2
fi
home=${regions[0]}
shared=() # the home region's overrides minus AuditSchedule, for the others
for pair in "${overrides[@]}"; do
  case "$pair" in
    AuditSchedule=*) ;;
    ReadsRegistry=* | ReadsTableArn=*) echo "$pair is set by this script" >&2; exit 2 ;;
    ResponseUrlBinding=host-only)
      echo "ResponseUrlBinding=host-only lets invokers choose where answers go; set it by hand in the one region that needs it" >&2
      exit 2
      ;;
    *) shared+=("$pair") ;;
  esac
done

run() {
  if [ -n "${DRY_RUN:-}" ]; then printf '%q ' "$@"; echo; else "$@"; fi
}

confirm=(--confirm-changeset)
[ -n "${NO_CONFIRM:-}" ] && confirm=(--no-confirm-changeset)

# A release carries its built template beside this script; a source checkout builds one.
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${TEMPLATE:-}" ] && [ -f "$here/template.yaml" ] && head -n 3 "$here/template.yaml" | grep -q 'Made by `cargo xtask dist`'; then
  TEMPLATE=$here/template.yaml
fi
if [ -n "${TEMPLATE:-}" ]; then
  # sam deploy uploads the template's local zip to SAM's managed bucket (--resolve-s3) in each region.
  # A release has no samconfig.toml: what it would set is given here (an unchanged region is no error).
  from=(--template-file "$TEMPLATE" --resolve-s3 --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset)
else
  from=()
  run sam build
fi
run sam deploy "${from[@]}" --region "$home" --stack-name "$stack" "${confirm[@]}" \
  --parameter-overrides ReadsRegistry=true "${overrides[@]}"
if [ -n "${DRY_RUN:-}" ]; then
  table_arn="<ReadsTableArn output of $stack in $home>"
else
  table_arn=$(aws cloudformation describe-stacks --region "$home" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='ReadsTableArn'].OutputValue" --output text)
fi
for region in "${regions[@]:1}"; do
  run sam deploy "${from[@]}" --region "$region" --stack-name "$stack" "${confirm[@]}" \
    --parameter-overrides "ReadsTableArn=$table_arn" "${shared[@]}"
done
