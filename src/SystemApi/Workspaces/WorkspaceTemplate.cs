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
            // Plain files and folders only, bounded (ADR 0070); the copy stays root's until the orchestrator hands it to the
            // child's own uid at its first execution, before any agent has seen it.
            Directory.CreateDirectory(staging);
            WorkspaceFiles.CopyTree(Path.GetFullPath(o.Template), staging, TreeLimits.Default, uid: null);
            if (strategyJson is not null)
            {
                var strategy = Path.Combine(staging, "strategy.json");
                if (File.Exists(strategy)) File.Delete(strategy);
                WorkspaceFiles.CreateFile(strategy, System.Text.Encoding.UTF8.GetBytes(strategyJson), (UnixFileMode)0b110_100_100);
            }
            return staged;
        }
        catch
        {
            staged.Dispose();
            throw;
        }
    }
}
