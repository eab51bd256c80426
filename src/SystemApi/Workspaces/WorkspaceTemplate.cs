using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Workspaces;

/// <summary>
/// Creates a child's workspace by copying the template folder. The copy goes to a hidden staging folder first and is
/// moved into place only after the spawn has committed, so a refused spawn leaves no folder behind.
/// </summary>
public sealed class WorkspaceTemplate(IOptions<WorkspaceOptions> options)
{
    /// <summary>A staged copy, not yet visible under its final name.</summary>
    public sealed class Staged(string stagingPath, string finalPath) : IDisposable
    {
        /// <summary>The final folder.</summary>
        public string FinalPath { get; } = finalPath;

        /// <summary>Moves the staged copy into place.</summary>
        public void Commit() => Directory.Move(stagingPath, FinalPath);

        /// <summary>Removes the staging folder if it was not committed.</summary>
        public void Dispose()
        {
            if (Directory.Exists(stagingPath)) Directory.Delete(stagingPath, recursive: true);
        }
    }

    /// <summary>True when the template folder exists.</summary>
    public bool TemplateExists => Directory.Exists(options.Value.Template);

    /// <summary>Copies the template (plus an optional strategy.json) into a staging folder for <paramref name="agentId"/>.</summary>
    public Staged Stage(string agentId, string? strategyJson)
    {
        var o = options.Value;
        var root = Path.GetFullPath(o.Root);
        var finalPath = Path.Combine(root, agentId);
        if (Directory.Exists(finalPath)) throw new IOException($"workspace {finalPath} already exists");
        var staging = Path.Combine(root, $".{agentId}.staging");
        var staged = new Staged(staging, finalPath);
        try
        {
            Copy(new DirectoryInfo(Path.GetFullPath(o.Template)), Directory.CreateDirectory(staging));
            if (strategyJson is not null) File.WriteAllText(Path.Combine(staging, "strategy.json"), strategyJson);
            return staged;
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }

    private static void Copy(DirectoryInfo from, DirectoryInfo to)
    {
        foreach (var file in from.EnumerateFiles()) file.CopyTo(Path.Combine(to.FullName, file.Name));
        foreach (var dir in from.EnumerateDirectories()) Copy(dir, to.CreateSubdirectory(dir.Name));
    }
}
