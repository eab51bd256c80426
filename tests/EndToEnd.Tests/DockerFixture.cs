using CyAgents.Orchestrator.Sandbox;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The real engine and the agent image, once per test run. No engine is a failure with the one-line
/// message that says how to start one — these tests never skip.
/// </summary>
public sealed class DockerFixture : IAsyncLifetime
{
    public DockerEngine Engine { get; } = new();
    public string Image { get; private set; } = "";
    public string Root { get; } = Directory.CreateTempSubdirectory("cyagents-e2e-").FullName;

    public async Task InitializeAsync()
    {
        await Engine.PingAsync();
        Image = await new AgentImage(Engine, new AgentImageOptions(), NullLogger.Instance).EnsureAsync();
    }

    public Task DisposeAsync()
    {
        Engine.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerFixture>
{
    public const string Name = "docker";
}
