using System.CommandLine;
using System.Diagnostics;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Orchestrator.Sandbox.Runtimes;
using CyAgents.SystemApi.Agents;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `images` verb: the built-in runtimes' images (ADR 0104), listed and built ahead of a run.</summary>
public static class ImagesCommand
{
    public static Command Create()
    {
        var engine = new Option<string>("--engine")
        {
            Description = "The Docker engine's unix socket.", DefaultValueFactory = _ => DockerEngine.DefaultSocket, Recursive = true,
        };
        var list = new Command("list", """
            Lists the built-in runtimes: the content-addressed tag each would have from what this host has now, whether
            the engine has it, its size, and what is inside. Builds nothing.
            Example: cyagents images list
            """);
        list.SetAction((parse, ct) => Guarded("list", () => ListAsync(parse.GetValue(engine)!, ct)));

        var names = new Argument<string[]>("NAME")
        {
            Description = $"Runtimes to build ({string.Join(", ", RuntimeNames.All)}); all when none is given.", Arity = ArgumentArity.ZeroOrMore,
        };
        var build = new Command("build", """
            Builds the images of the named runtimes (all when none is named) offline, from this host's files, unless the
            engine has them already; prints progress and the time taken. A run builds a missing runtime on first use, so
            this is only needed to pay the first build ahead of time.
            Examples: cyagents images build    cyagents images build python
            """)
        {
            names,
        };
        build.SetAction((parse, ct) => Guarded("build", () => BuildAsync(parse.GetValue(engine)!, parse.GetValue(names) ?? [], ct)));

        return new Command("images", """
            The images of the built-in runtimes agents run in: dotnet (the Genesis agent and the .NET shared runtime) and
            python (Debian's python3.11 with its standard library and the CyAgents SDK). Built offline from this Debian
            host's files, FROM scratch, no shell; tagged by a hash of their content, so an unchanged runtime is never rebuilt.
            Examples: cyagents images list    cyagents images build python
            """)
        {
            engine, list, build,
        };
    }

    private static async Task<int> ListAsync(string socket, CancellationToken ct)
    {
        using var engine = new DockerEngine(socket);
        await engine.PingAsync(ct);
        var images = new RuntimeImages(engine, new RuntimeImagesOptions(), NullLogger.Instance);
        Console.WriteLine($"{"RUNTIME",-8} {"TAG",-36} {"BUILT",-5} {"SIZE",9}  CONTENT");
        foreach (var status in await images.ListAsync(ct))
        {
            var size = status.SizeBytes is { } bytes ? $"{bytes / 1048576.0:F1} MiB" : "-";
            Console.WriteLine($"{status.Runtime,-8} {status.Tag,-36} {(status.Built ? "yes" : "no"),-5} {size,9}  {status.Summary}");
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> BuildAsync(string socket, string[] names, CancellationToken ct)
    {
        var unknown = names.Where(n => !RuntimeNames.All.Contains(n, StringComparer.Ordinal)).ToArray();
        if (unknown.Length > 0)
        {
            Console.Error.WriteLine($"cyagents images build: unknown runtime '{unknown[0]}'; built in: {string.Join(", ", RuntimeNames.All)}.");
            return ExitCodes.Usage;
        }
        using var engine = new DockerEngine(socket);
        await engine.PingAsync(ct);
        var images = new RuntimeImages(engine, new RuntimeImagesOptions(), NullLogger.Instance);
        foreach (var name in names.Length == 0 ? RuntimeNames.All : names.Distinct(StringComparer.Ordinal))
        {
            var stopwatch = Stopwatch.StartNew();
            var built = false;
            var tag = await images.EnsureAsync(name, line => { built = true; Console.WriteLine(line); }, ct);
            if (!built) Console.WriteLine($"{name}: {tag} is built already (checked in {stopwatch.Elapsed.TotalMilliseconds:F0} ms)");
        }
        return ExitCodes.Ok;
    }

    /// <summary>One line and an exit code for what can go wrong: no engine, no repository, a host file missing, a failed build.</summary>
    private static async Task<int> Guarded(string verb, Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (DockerEngineUnavailableException e)
        {
            Console.Error.WriteLine($"cyagents images {verb}: {e.Message}");
            return ExitCodes.EngineUnavailable;
        }
        catch (Exception e) when (e is InvalidOperationException or DockerEngineException or IOException)
        {
            Console.Error.WriteLine($"cyagents images {verb}: {e.Message.Split('\n')[0]}");
            return ExitCodes.Failure;
        }
    }
}
