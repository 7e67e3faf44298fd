#!/usr/bin/env bash
# Installs the versitygw S3 server used by the tests, only when it is missing.
# Usage: scripts/install-versitygw.sh [BIN_DIR]   (default: $(go env GOPATH)/bin)
# Prints the path of the binary on stdout; progress goes to stderr.
set -euo pipefail

VERSION=v1.8.0
MODULE=github.com/versity/versitygw/cmd/versitygw

if [ $# -gt 1 ]; then
	echo "usage: $0 [BIN_DIR]" >&2
	exit 2
fi
if ! command -v go >/dev/null 2>&1; then
	echo "install-versitygw: the go command is needed" >&2
	exit 1
fi

bin_dir=${1:-$(go env GOPATH | cut -d: -f1)/bin}
mkdir -p "$bin_dir"
bin_dir=$(cd "$bin_dir" && pwd)
target=$bin_dir/versitygw

if [ -x "$target" ]; then
	echo "install-versitygw: already installed" >&2
else
	echo "install-versitygw: building versitygw $VERSION into $bin_dir (takes a few minutes)" >&2
	GOBIN=$bin_dir go install "$MODULE@$VERSION"
	if [ ! -x "$target" ]; then
		echo "install-versitygw: go install finished but $target is missing" >&2
		exit 1
	fi
fi
echo "$target"
