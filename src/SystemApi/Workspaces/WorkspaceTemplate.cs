using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Workspaces;

/// <summary>
/// Creates a new agent's workspace by copying a template folder or its parent's workspace. The copy goes to a hidden
/// staging folder first and is moved into place only after the creation has committed, so a refused one leaves no
/// folder behind.
/// </summary>
public sealed partial class WorkspaceTemplate(IOptions<WorkspaceOptions> options)
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

    /// <summary>True when <paramref name="path"/> is the default template folder (never an agent's workspace, ADR 0070).</summary>
    public bool IsTemplate(string path) =>
        string.Equals(Path.GetFullPath(path).TrimEnd('/'), Path.GetFullPath(options.Value.Template).TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>The workspace folder of an agent (it may not exist).</summary>
    public string WorkspaceOf(string agentId) => Path.Combine(Path.GetFullPath(options.Value.Root), agentId);

    /// <summary>
    /// The folder of the named template under <see cref="WorkspaceOptions.Templates"/>, or null with the reason: the name
    /// is a folder name (letters, digits, '.', '_', '-'; not hidden), the folder is a real folder (not a link) holding an
    /// <c>agent.json</c>. The caller also refuses a name that is an agent's id (that folder is a workspace).
    /// </summary>
    public string? FindTemplate(string name, out string? problem)
    {
        problem = null;
        if (!TemplateName().IsMatch(name))
        {
            problem = "a template name is a folder name: letters, digits, '.', '_' or '-', not starting with '.'";
            return null;
        }
        var folder = Path.Combine(Path.GetFullPath(options.Value.Templates), name);
        if (WorkspaceFiles.Entry(folder) is not DirectoryInfo { LinkTarget: null })
        {
            problem = $"there is no template '{name}' in the templates folder";
            return null;
        }
        if (WorkspaceFiles.Entry(Path.Combine(folder, "agent.json")) is not FileInfo)
        {
            problem = $"the folder '{name}' in the templates folder has no agent.json; it is not a template";
            return null;
        }
        return folder;
    }

    /// <summary>Copies the template (plus an optional strategy.json) into a staging folder for <paramref name="agentId"/>.</summary>
    public Staged Stage(string agentId, string? strategyJson) => Stage(agentId, strategyJson, options.Value.Template, hostile: false);

    /// <summary>
    /// Copies <paramref name="source"/> (plus an optional strategy.json) into a staging folder for <paramref name="agentId"/>.
    /// A <paramref name="hostile"/> source is a tree an agent may be changing right now (a parent's workspace): it is
    /// copied with <see cref="HostileTreeCopy"/>, which resolves no path an agent could redirect.
    /// </summary>
    public Staged Stage(string agentId, string? strategyJson, string source, bool hostile)
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
            if (hostile) HostileTreeCopy.Copy(source, staging, TreeLimits.Default);
            else WorkspaceFiles.CopyTree(Path.GetFullPath(source), staging, TreeLimits.Default, uid: null);
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

    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex TemplateName();
}
