#!/usr/bin/env bash
# Packs TaskDispatch, TaskDispatch.Sqlite and TaskDispatch.Hosting, restores the package from a local folder feed into a throw-away console project (with its own
# package cache, so no stale copy is used), and runs it: the package works as users reference it.
set -euo pipefail
cd "$(dirname "$0")/.."

out="artifacts/packages"
rm -rf "$out"
dotnet pack src/TaskDispatch/TaskDispatch.csproj -c Release -o "$out" -p:ContinuousIntegrationBuild=true
dotnet pack src/TaskDispatch.Sqlite/TaskDispatch.Sqlite.csproj -c Release -o "$out" -p:ContinuousIntegrationBuild=true
dotnet pack src/TaskDispatch.Hosting/TaskDispatch.Hosting.csproj -c Release -o "$out" -p:ContinuousIntegrationBuild=true
dotnet pack src/TaskDispatch.Simulation/TaskDispatch.Simulation.csproj -c Release -o "$out" -p:ContinuousIntegrationBuild=true

nupkg=$(ls "$out"/TaskDispatch.[0-9]*.nupkg | grep -v '\.snupkg$' | head -1)
version=$(basename "$nupkg" .nupkg | sed 's/^TaskDispatch\.//')
test -f "$out/TaskDispatch.$version.snupkg" || { echo "missing symbols package" >&2; exit 1; }
nuspec=$(unzip -p "$nupkg" TaskDispatch.nuspec)
grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || { echo "nuspec lacks the MIT license expression" >&2; exit 1; }
grep -q '<readme>README.md</readme>' <<<"$nuspec" || { echo "nuspec lacks the readme" >&2; exit 1; }
listing=$(unzip -l "$nupkg")
grep -q ' README.md$' <<<"$listing" || { echo "package lacks README.md" >&2; exit 1; }
grep -q 'lib/net10.0/TaskDispatch.xml' <<<"$listing" || { echo "package lacks XML docs" >&2; exit 1; }

# Each package page starts with its install command and links only to absolute addresses (a package page has no repository).
for package in "$out"/TaskDispatch*.nupkg; do
  case "$package" in *.snupkg) continue ;; esac
  id=$(basename "$package" ".$version.nupkg")
  page=$(unzip -p "$package" README.md)
  grep -qx "dotnet add package $id" <<<"$page" || { echo "$id: the package page lacks 'dotnet add package $id'" >&2; exit 1; }
  if grep -qE '\]\((\.\.?/|docs/|samples/|src/|eng/|[A-Za-z_-]+\.md)' <<<"$page"; then
    echo "$id: the package page has a relative link, which breaks on nuget.org" >&2; exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
feed=$(cd "$out" && pwd)
mkdir -p "$work/Consumer"
cat > "$work/nuget.config" <<CONFIG
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="local" value="$feed" />
  </packageSources>
</configuration>
CONFIG
cat > "$work/Consumer/Consumer.csproj" <<PROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <RestorePackagesPath>$work/packages</RestorePackagesPath>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="TaskDispatch" Version="$version" />
    <PackageReference Include="TaskDispatch.Sqlite" Version="$version" />
    <PackageReference Include="TaskDispatch.Hosting" Version="$version" />
    <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.0" />
  </ItemGroup>
</Project>
PROJ
cat > "$work/Consumer/Program.cs" <<'CODE'
using Microsoft.Extensions.Configuration;
using TaskDispatch;

await using var dispatcher = new TaskDispatcherBuilder()
    .AddNode("a", node => node.WithConcurrency(2))
    .AddNode("b", node => node.WithConcurrency(2))
    .Build();
var handles = new List<TaskHandle<int>>();
for (var i = 1; i <= 100; i++)
{
    var n = i;
    handles.Add(await dispatcher.SubmitAsync(_ => ValueTask.FromResult(n)));
}

var sum = 0;
foreach (var handle in handles)
{
    sum += await handle;
}

Console.WriteLine($"consumer ok: {sum}");

// The durable store's package: a handler task survives the dispatcher, and the next one finds its outcome.
var directory = Directory.CreateTempSubdirectory("consumer-").FullName;
var services = new ServiceProviderStub();
await using (var durable = new TaskDispatcherBuilder().UseServiceProvider(services).UseSqliteStore(Path.Combine(directory, "tasks.db")).Build())
{
    var doubled = await durable.SubmitAsync<Doubler, int, int>(21, new TaskOptions { Id = "d" });
    Console.WriteLine($"durable ok: {await doubled}");
}

await using (var reopened = new TaskDispatcherBuilder().UseServiceProvider(services).UseSqliteStore(Path.Combine(directory, "tasks.db")).Build())
{
    Console.WriteLine($"reopened ok: {(reopened.TryGetHandle("d", out var found) ? found.State.ToString() : "missing")}");
}

Directory.Delete(directory, recursive: true);

// The hosting package: a dispatcher bound from configuration starts and drains with the host.
var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new Microsoft.Extensions.Hosting.HostApplicationBuilderSettings { DisableDefaults = true });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["TaskDispatch:Nodes:a:MaxConcurrency"] = "2" });
Microsoft.Extensions.DependencyInjection.TaskDispatchHostingServiceCollectionExtensions.AddTaskDispatch(builder.Services, builder.Configuration.GetSection("TaskDispatch"));
using (var host = builder.Build())
{
    await host.StartAsync();
    var hosted = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<ITaskDispatcher>(host.Services);
    var late = await hosted.SubmitAsync(async context => { await Task.Delay(50, context.CancellationToken); return 7; });
    await host.StopAsync();
    Console.WriteLine($"hosted ok: {late.State} on {string.Join(",", hosted.Nodes.Select(node => node.Name))}");
}

sealed class Doubler : ITaskHandler<int, int>
{
    public ValueTask<int> HandleAsync(int input, TaskContext context) => ValueTask.FromResult(input * 2);
}

sealed class ServiceProviderStub : IServiceProvider, Microsoft.Extensions.DependencyInjection.IServiceScopeFactory, Microsoft.Extensions.DependencyInjection.IServiceScope
{
    public IServiceProvider ServiceProvider => this;
    public object? GetService(Type serviceType) => serviceType == typeof(Microsoft.Extensions.DependencyInjection.IServiceScopeFactory) ? this : null;
    public Microsoft.Extensions.DependencyInjection.IServiceScope CreateScope() => this;
    public void Dispose() { }
}
CODE
(cd "$work" && dotnet run --project Consumer -c Release) | tee "$work/output.txt"
grep -qx 'consumer ok: 5050' "$work/output.txt" || { echo "the consumer of the package did not produce the expected output" >&2; exit 1; }
grep -qx 'durable ok: 42' "$work/output.txt" || { echo "the consumer of TaskDispatch.Sqlite did not produce the expected output" >&2; exit 1; }
grep -qx 'reopened ok: Completed' "$work/output.txt" || { echo "the consumer of TaskDispatch.Sqlite did not find the outcome after reopening" >&2; exit 1; }
grep -qx 'hosted ok: Completed on a' "$work/output.txt" || { echo "the consumer of TaskDispatch.Hosting did not drain its task with the host" >&2; exit 1; }
echo "pack-and-consume: TaskDispatch, TaskDispatch.Sqlite and TaskDispatch.Hosting $version restored from a folder feed and ran."
