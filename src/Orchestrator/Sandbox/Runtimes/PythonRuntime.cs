namespace CyAgents.Orchestrator.Sandbox.Runtimes;

/// <summary>
/// The <c>python</c> runtime: Debian's <c>/usr/bin/python3.11</c> (package python3.11-minimal; never the pyenv shim that
/// may come first on PATH) with its standard library from <c>/usr/lib/python3.11</c> and Debian's precompiled <c>.pyc</c>
/// files, less what an agent cannot use (tests, Tk, IDLE, ensurepip, lib2to3, the static libpython, NIS), the libraries
/// <c>ldd</c> lists for the interpreter and its extension modules, and the repository's <c>sdk/python/*.py</c> on
/// PYTHONPATH at <see cref="SdkFolder"/>. No shell, no pip, no other program.
/// </summary>
internal sealed class PythonRuntime(string python = PythonRuntime.DefaultPython, string standardLibrary = PythonRuntime.DefaultStandardLibrary) : IRuntimeRecipe
{
    public const string DefaultPython = "/usr/bin/python3.11";
    public const string DefaultStandardLibrary = "/usr/lib/python3.11";
    /// <summary>Where the SDK module lives in the image; on PYTHONPATH.</summary>
    public const string SdkFolder = "/opt/cyagents/python";
    private const string Recipe = "python-runtime-v1";

    // Folders and files of the standard library left out: nothing an agent in a network-less sandbox without a display
    // or a package index can use, and the 25 MB static library for embedding.
    private static readonly string[] SkippedFolders =
        ["test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "config-3.11-x86_64-linux-gnu", "__phello__"];
    private static readonly string[] SkippedModules = ["turtle", "sitecustomize", "antigravity", "this", "__hello__"];
    // Extension modules by file-name prefix: CPython's own test modules, and NIS (which drags in Kerberos) and Tk.
    private static readonly string[] SkippedExtensions = ["_test", "_ctypes_test.", "_xxtestfuzz.", "xxlimited", "nis.", "_tkinter."];

    public string Name => "python";

    public string Summary => "Debian's python3.11 and its standard library (pruned, precompiled), the CyAgents SDK on PYTHONPATH; no shell";

    public RuntimeContent List(string sourceRoot, int uid)
    {
        if (!File.Exists(python))
            throw new InvalidOperationException($"{python} is missing; install Debian's python3-minimal and libpython3.11-stdlib (scripts/ensure-python)");
        if (!Directory.Exists(standardLibrary))
            throw new InvalidOperationException($"{standardLibrary} is missing; install Debian's libpython3.11-stdlib (scripts/ensure-python)");
        var content = new RuntimeContent();
        content.Facts.Add(Recipe);
        content.Files.Add((python, "/usr/bin/python3.11"));
        content.Links.Add(("/usr/bin/python3", "python3.11"));
        content.Linked.Add(python);
        content.AddTree(standardLibrary, Skip);
        var dynload = Path.Combine(standardLibrary, "lib-dynload");
        content.Linked.AddRange(content.Files.Select(f => f.Host).Where(h => h.StartsWith(dynload + "/", StringComparison.Ordinal) && h.EndsWith(".so", StringComparison.Ordinal)));
        var sdk = Path.Combine(sourceRoot, "sdk", "python");
        if (Directory.Exists(sdk))
        {
            foreach (var file in Directory.EnumerateFiles(sdk, "*.py").Order(StringComparer.Ordinal))
            {
                if (new FileInfo(file).LinkTarget is not null) continue;
                content.Files.Add((file, $"{SdkFolder}/{Path.GetFileName(file)}"));
                content.HashedByContent.Add(file);
            }
        }
        content.Directories.AddRange(["/workspace", "/run/cyagents", "/dev", "/proc", "/etc", SdkFolder]);
        content.WritableDirectories.Add("/tmp");
        content.Dockerfile = $"""
            FROM scratch
            COPY rootfs/ /
            LABEL cyagents.runtime=python
            ENV HOME=/tmp TMPDIR=/tmp PATH=/usr/bin PYTHONPATH={SdkFolder} PYTHONDONTWRITEBYTECODE=1 PYTHONNOUSERSITE=1 PYTHONUTF8=1 PYTHONUNBUFFERED=1
            WORKDIR /workspace
            USER {uid}:{uid}
            ENTRYPOINT []
            CMD ["/usr/bin/python3"]
            """;
        return content;
    }

    public Task PrepareAsync(RuntimeContent content, string sourceRoot, Action<string> progress, CancellationToken ct) => Task.CompletedTask;

    private static bool Skip(string relative)
    {
        var parts = relative.Split('/');
        if (SkippedFolders.Contains(parts[0], StringComparer.Ordinal)) return true;
        var file = parts[^1];
        if (parts.Length == 1 && file.EndsWith(".py", StringComparison.Ordinal) && SkippedModules.Contains(file[..^3], StringComparer.Ordinal)) return true;
        // __pycache__/turtle.cpython-311.pyc goes with turtle.py
        if (parts.Length == 2 && parts[0] == "__pycache__" && SkippedModules.Contains(file.Split('.')[0], StringComparer.Ordinal)) return true;
        return parts.Length == 2 && parts[0] == "lib-dynload" && SkippedExtensions.Any(e => file.StartsWith(e, StringComparison.Ordinal));
    }
}
