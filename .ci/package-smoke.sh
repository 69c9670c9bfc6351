#!/usr/bin/env bash
# Proves the package works outside this repository, as the README's "Use it in your project" says: packs KernelDsl,
# then in a temporary folder creates a console project, adds the package from the local folder feed, writes a spec
# (package-smoke/Program.cs), builds, runs, and requires PASS.
# The temporary nuget.config adds only the local feed; the machine's own NuGet configuration (its user-level
# NuGet.Config) still supplies the registry for the package's dependencies. A private packages folder keeps a stale
# KernelDsl of the same version in the user's cache from being used instead of the one just packed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/kerneldsl-package.XXXXXX")"
trap 'rm -rf "$work"' EXIT

dotnet pack "$repo/src/KernelDsl/KernelDsl.csproj" -c Release -o "$work/feed" --nologo -v quiet
mkdir -p "$work/app" && cd "$work/app"
cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config>
    <add key="globalPackagesFolder" value="$work/packages" />
  </config>
  <packageSources>
    <add key="kerneldsl-local" value="$work/feed" />
  </packageSources>
</configuration>
XML
dotnet new console --name SmokeApp --output . --framework net10.0 >/dev/null
dotnet add package KernelDsl >/dev/null
cp "$repo/.ci/package-smoke/Program.cs" Program.cs
dotnet build -c Release --nologo -v quiet
dotnet run -c Release --no-build
