namespace CyAgents.Orchestrator.Sandbox.Runtimes;

/// <summary>How one built-in runtime's image is made from what the host has (ADR 0104).</summary>
internal interface IRuntimeRecipe
{
    /// <summary>The runtime's name (<c>CyAgents.SystemApi.Agents.RuntimeNames</c>).</summary>
    string Name { get; }

    /// <summary>One line for <c>cyagents images list</c>: what is inside.</summary>
    string Summary { get; }

    /// <summary>What goes in, listed cheaply (no hashing of large trees, no process started but what must be).</summary>
    RuntimeContent List(string sourceRoot, int uid);

    /// <summary>
    /// Work done only when the image is built (the dotnet runtime publishes the Genesis agent): adds the files it made to
    /// <paramref name="content"/>. Whatever it adds must already be covered by <see cref="List"/>'s facts.
    /// </summary>
    Task PrepareAsync(RuntimeContent content, string sourceRoot, Action<string> progress, CancellationToken ct);
}
