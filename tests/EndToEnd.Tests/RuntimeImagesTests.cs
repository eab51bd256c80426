using System.Diagnostics;
using System.Formats.Tar;
using System.Text.RegularExpressions;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Sandbox.Runtimes;
using CyAgents.Persistence.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>The built-in runtimes on the real engine: built offline, cached by content, no shell, non-root, the sandbox rules apply.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Runtimes")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class RuntimeImagesTests(DockerFixture docker)
{
    private readonly string _root = Directory.CreateDirectory(Path.Combine(docker.Root, "runtimes-" + Guid.NewGuid().ToString("N")[..8])).FullName;

    [Theory]
    [InlineData("dotnet")]
    [InlineData("python")]
    public async Task A_runtime_builds_once_and_a_second_ensure_from_a_fresh_start_finds_it_without_rebuilding(string runtime)
    {
        var tag = await RuntimeRun.ImageAsync(docker.Engine, runtime);
        var first = await docker.Engine.InspectImageAsync(tag);

        var progress = new List<string>();
        var stopwatch = Stopwatch.StartNew();
        var again = await new RuntimeImages(docker.Engine, new RuntimeImagesOptions(), NullLogger.Instance).EnsureAsync(runtime, progress.Add);
        stopwatch.Stop();

        again.ShouldBe(tag);
        tag.ShouldStartWith($"cyagents/runtime-{runtime}:");
        progress.ShouldBeEmpty(); // no build step ran
        (await docker.Engine.InspectImageAsync(again)).ShouldNotBeNull().Id.ShouldBe(first.ShouldNotBeNull().Id);
        // The check on every start lists folders and file metadata only; generous bound for a loaded 2-core machine.
        stopwatch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        // Only the current tag of the runtime is kept.
        var tags = (await docker.Engine.ListImagesAsync(RuntimeImages.RepositoryOf(runtime))).SelectMany(i => i.RepoTags ?? []).ToArray();
        tags.ShouldBe([tag]);
    }

    [Fact]
    public async Task An_unknown_runtime_is_refused_with_the_names_that_exist()
    {
        var images = new RuntimeImages(docker.Engine, new RuntimeImagesOptions(), NullLogger.Instance);

        var refused = await Should.ThrowAsync<UnknownRuntimeException>(() => images.EnsureAsync("ruby"));

        refused.Message.ShouldBe("unknown runtime 'ruby' (built in: dotnet, python)");
    }

    /// <summary>
    /// What is in: python holds /usr/bin/python3.11 (and the link python3), the standard library, the SDK and shared
    /// libraries; dotnet holds /app/genesis-agent, the dotnet muxer (and its link) and shared libraries. No shell, no other program.
    /// </summary>
    [Theory]
    [InlineData("dotnet", new[] { "/app/genesis-agent", "/usr/share/dotnet/dotnet" })]
    [InlineData("python", new[] { "/usr/bin/python3.11" })]
    public async Task A_runtime_holds_no_shell_and_no_program_but_its_own_and_runs_as_the_sandbox_user(string runtime, string[] programs)
    {
        var tag = await RuntimeRun.ImageAsync(docker.Engine, runtime);
        var files = await FilesOfAsync(tag);

        // Executables that are not shared objects (libraries and the loader are named *.so*), leaving out what the engine
        // adds to every container (/.dockerenv, /etc/hosts and friends, /dev/console).
        var executables = files.Where(f => !EngineProvided(f.Path) && f.Type == TarEntryType.RegularFile && (f.Mode & UnixFileMode.UserExecute) != 0 && !SharedObject().IsMatch(f.Path))
            .Select(f => f.Path).Order(StringComparer.Ordinal).ToArray();
        executables.ShouldBe(programs.Order(StringComparer.Ordinal).ToArray());
        files.Select(f => f.Path).ShouldNotContain("/bin/sh");
        files.Select(f => f.Path).ShouldNotContain(p => p.EndsWith("/busybox", StringComparison.Ordinal) || p.EndsWith("/bash", StringComparison.Ordinal));
        // Everything belongs to root, and nothing is writable by the sandbox user but /tmp (a tmpfs in the sandbox).
        files.Where(f => !EngineProvided(f.Path) && f.Type != TarEntryType.SymbolicLink && f.Path != "/tmp" && (f.Mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            .Select(f => f.Path).ShouldBeEmpty();
        files.Where(f => !EngineProvided(f.Path)).ShouldAllBe(f => f.Uid == 0);
        var config = (await docker.Engine.InspectImageAsync(tag)).ShouldNotBeNull().Config.ShouldNotBeNull();
        config.User.ShouldBe($"{AgentImage.SandboxUid}:{AgentImage.SandboxUid}");
        config.WorkingDir.ShouldBe("/workspace");
        if (runtime == "python")
        {
            config.Env.ShouldNotBeNull().ShouldContain("PYTHONDONTWRITEBYTECODE=1");
            config.Env.ShouldContain($"PYTHONPATH={RuntimeImages.PythonSdkFolder}");
            files.Select(f => f.Path).ShouldNotContain(p => p.StartsWith("/usr/lib/python3.11/test/", StringComparison.Ordinal)
                || p.StartsWith("/usr/lib/python3.11/lib2to3/", StringComparison.Ordinal) || p.StartsWith("/usr/lib/python3.11/ensurepip/", StringComparison.Ordinal)
                || p.StartsWith("/usr/lib/python3.11/config-3.11", StringComparison.Ordinal));
            files.Select(f => f.Path).ShouldContain("/usr/lib/python3.11/__pycache__/os.cpython-311.pyc");
            foreach (var sdk in Directory.EnumerateFiles(Path.Combine(AgentImage.FindSourceRoot(), "sdk", "python"), "*.py"))
                files.Select(f => f.Path).ShouldContain($"{RuntimeImages.PythonSdkFolder}/{Path.GetFileName(sdk)}");
        }
    }

    [Fact]
    public async Task A_python_agent_under_the_sandbox_rules_imports_what_the_sdk_needs_and_reads_its_context_as_non_root()
    {
        var modules = SdkImports();
        var script = $$"""
            import {{string.Join(", ", modules)}}
            import json, os
            with open(os.environ["CYAGENTS_ENV"]) as f:
                context = json.load(f)
            print("context", context["executionId"], context["apiSocket"])
            print("uid", os.getuid(), os.getgid())
            print("cwd", os.getcwd())
            try:
                open("/usr/lib/python3.11/os.py", "a")
                print("runtime: WRITABLE")
            except OSError:
                print("runtime: read-only")
            print("imported", len(sys.modules) > 0)
            """;

        var run = await RuntimeRun.RunAsync(docker.Engine, _root, "python", ["python3", "-c", "import sys\n" + script], TimeSpan.FromSeconds(30));

        run.Outcome.Status.ShouldBe(ExecutionStatus.Succeeded, run.Output);
        run.Output.ShouldContain($"context {run.ExecutionId} /run/cyagents/api.sock");
        run.Output.ShouldContain($"uid {AgentImage.SandboxUid} {AgentImage.SandboxUid}");
        run.Output.ShouldContain("cwd /workspace");
        run.Output.ShouldContain("runtime: read-only");
        var host = run.Inspect.ShouldNotBeNull().HostConfig;
        host.NetworkMode.ShouldBe("none");
        host.ReadonlyRootfs.ShouldBeTrue();
        host.CapDrop.ShouldNotBeNull().ShouldContain("ALL");
        host.SecurityOpt.ShouldNotBeNull().ShouldContain(o => o.StartsWith("seccomp=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_users_framework_dependent_dll_runs_with_dotnet_in_the_dotnet_runtime_hashing_through_openssl()
    {
        var app = await BuildHelloAsync();

        var run = await RuntimeRun.RunAsync(docker.Engine, _root, "dotnet", ["dotnet", "Hello.dll"], TimeSpan.FromSeconds(60),
            prepareWorkspace: workspace =>
            {
                foreach (var file in Directory.EnumerateFiles(app))
                {
                    var target = Path.Combine(workspace, Path.GetFileName(file));
                    File.Copy(file, target);
                    File.SetUnixFileMode(target, (UnixFileMode)0b110_100_100);
                }
            });

        run.Outcome.Status.ShouldBe(ExecutionStatus.Succeeded, run.Output);
        run.Output.ShouldContain($"hello {run.ExecutionId}");
        run.Output.ShouldContain("sha256 BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"); // of "abc"
        run.Output.ShouldContain("framework 10.");
    }

    /// <summary>The top-level modules the SDK files import (<c>import x</c>, <c>from x import</c>), plus the SDK itself when it exists.</summary>
    private static IReadOnlyList<string> SdkImports()
    {
        var sdk = Path.Combine(AgentImage.FindSourceRoot(), "sdk", "python");
        var modules = new SortedSet<string>(StringComparer.Ordinal) { "json", "os", "socket", "http.client", "time", "urllib.parse" };
        foreach (var file in Directory.EnumerateFiles(sdk, "*.py"))
        {
            modules.Add(Path.GetFileNameWithoutExtension(file));
            foreach (Match m in ImportLine().Matches(File.ReadAllText(file)))
                foreach (var name in (m.Groups[1].Success ? m.Groups[1] : m.Groups[2]).Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    if (name.Split(' ')[0] is var module && !module.StartsWith('.') && module != "__future__") modules.Add(module);
        }
        return [.. modules];
    }

    private static async Task<string> BuildHelloAsync()
    {
        var dir = Directory.CreateTempSubdirectory("cyagents-hello-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "Hello.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><UseAppHost>false</UseAppHost>
                <ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable><InvariantGlobalization>true</InvariantGlobalization>
              </PropertyGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "Program.cs"), """
            using System.Security.Cryptography;
            using System.Text.Json;
            var context = JsonDocument.Parse(File.ReadAllText(Environment.GetEnvironmentVariable("CYAGENTS_ENV")!));
            Console.WriteLine($"hello {context.RootElement.GetProperty("executionId").GetString()}");
            Console.WriteLine($"sha256 {Convert.ToHexString(SHA256.HashData("abc"u8))}");
            Console.WriteLine($"framework {Environment.Version}");
            """);
        // Its own artifacts folder: the repository's Directory.Build.props is not above this temp folder.
        var psi = new ProcessStartInfo("dotnet") { ArgumentList = { "build", dir, "-c", "Release", "-o", Path.Combine(dir, "out"), "-nologo", "-v", "q" },
            RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["MSBUILDNOINPROCNODE"] = "1";
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(0, await stdout + await stderr);
        var output = Path.Combine(dir, "out");
        foreach (var extra in Directory.EnumerateFiles(output, "*.pdb")) File.Delete(extra);
        return output;
    }

    private static bool EngineProvided(string path) =>
        path == "/.dockerenv" || path.StartsWith("/etc/", StringComparison.Ordinal) || path.StartsWith("/dev/", StringComparison.Ordinal)
        || path.StartsWith("/proc/", StringComparison.Ordinal) || path.StartsWith("/sys/", StringComparison.Ordinal);

    private sealed record ImageFile(string Path, TarEntryType Type, UnixFileMode Mode, int Uid);

    private async Task<IReadOnlyList<ImageFile>> FilesOfAsync(string image)
    {
        var id = await docker.Engine.CreateContainerAsync(new ContainerSpec
        {
            Image = image, NetworkDisabled = true, Labels = new Dictionary<string, string> { [DockerSandbox.ManagedLabel] = "runtime-test-export" },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        try
        {
            await using var stream = await docker.Engine.ExportContainerAsync(id);
            using var tar = new TarReader(stream);
            var files = new List<ImageFile>();
            while (await tar.GetNextEntryAsync() is { } entry)
                files.Add(new ImageFile("/" + (entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name).TrimStart('/').TrimEnd('/'), entry.EntryType, entry.Mode, entry.Uid));
            return files;
        }
        finally
        {
            await docker.Engine.RemoveContainerAsync(id);
        }
    }

    [GeneratedRegex(@"\.so(\.[0-9.]+)?$")]
    private static partial Regex SharedObject();

    [GeneratedRegex(@"^\s*(?:import\s+([\w., ]+)|from\s+([\w.]+)\s+import)", RegexOptions.Multiline)]
    private static partial Regex ImportLine();
}
