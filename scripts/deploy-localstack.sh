#!/usr/bin/env bash
# Deploys the Eddy CDK app (both stacks) into a running LocalStack through cdklocal.
#
#   npm run deploy:localstack                       # default views, on-demand stream
#   npm run deploy:localstack -- -c shards=2 -c config=my-views.ts
#
# Environment (all optional):
#   AWS_ENDPOINT_URL     LocalStack edge endpoint        (default http://127.0.0.1:4566)
#   AWS_ENDPOINT_URL_S3  its S3 endpoint, needed by cdklocal; a subdomain of localhost.localstack.cloud
#                        (public DNS for 127.0.0.1) so that bucket subdomains resolve
#                        (default http://s3.localhost.localstack.cloud:<port of AWS_ENDPOINT_URL>)
#   AWS_REGION           (default us-east-1); credentials default to LocalStack's dummy test/test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
endpoint_port="$(sed -E 's#^[a-z]+://[^/:]+:?([0-9]*).*#\1#' <<<"${AWS_ENDPOINT_URL}")"
export AWS_ENDPOINT_URL_S3="${AWS_ENDPOINT_URL_S3:-http://s3.localhost.localstack.cloud:${endpoint_port:-4566}}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION}}"
# cdklocal drops every other AWS_* variable (profiles, real credentials) so nothing reaches a real account;
# keep the region.
export AWS_ENVAR_ALLOWLIST="${AWS_ENVAR_ALLOWLIST:-AWS_REGION,AWS_DEFAULT_REGION}"

echo "Note: LocalStack images after 4.14.0 need LOCALSTACK_AUTH_TOKEN set in the LocalStack container." >&2

health_url="${AWS_ENDPOINT_URL%/}/_localstack/health"
if ! health="$(curl --silent --show-error --fail --max-time 5 "${health_url}" 2>&1)"; then
  cat >&2 <<EOF
error: LocalStack is not reachable at ${AWS_ENDPOINT_URL} (GET ${health_url} failed: ${health})
Start it first, for example:
  docker run --rm -d -p 4566:4566 -e LOCALSTACK_AUTH_TOKEN localstack/localstack
or point AWS_ENDPOINT_URL at a running instance.
EOF
  exit 1
fi
echo "LocalStack is up at ${AWS_ENDPOINT_URL}" >&2

npx cdklocal bootstrap
npx cdklocal deploy --all --require-approval never "$@"
