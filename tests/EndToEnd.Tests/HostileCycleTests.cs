namespace CyAgents.EndToEnd.Tests;

/// <summary>
/// The hostile agent inside live cycles, beside Genesis, on the real engine: it plants links to host files, to Genesis's
/// workspace and to the template, a FIFO where env.json used to be, link loops and many files, then runs again (so the host
/// prepares its poisoned workspace and delivers a context), then floods its output, then fills its workspace. The host files stay as they were,
/// Genesis runs every cycle, and every cycle completes with the ledger intact (<see cref="HostileLiveCycles"/> holds the cycles and
/// the containment, shared with the Python attacker).
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Hostile")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class HostileCycleTests(DockerFixture docker)
{
    private const string Hostile = "hostile-1";

    [Fact]
    public async Task Links_fifos_loops_many_files_and_a_flood_are_contained_and_the_cycle_goes_on_for_genesis()
    {
        var image = await HostileAgent.ImageAsync(docker.Engine);
        var root = Directory.CreateDirectory(Path.Combine(docker.Root, "hostile-cycle-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var run = await HostileLiveCycles.PrepareAsync(root);
        var (secret, genesisWorkspace, template) = (run.Secret, run.GenesisWorkspace, run.Template);

        var plant = $"""
            cd /workspace
            mkfifo env.json && echo planted fifo
            ln -s {secret} journal; ln -s {secret} strategy.json; ln -s {secret} memory.json
            ln -s {genesisWorkspace} neighbour; ln -s {template} template; ln -s / hostroot
            ln -s loop-b loop-a; ln -s loop-a loop-b; ln -s . self
            mkdir -p deep/er && ln -s {secret} deep/er/secret && ln -s {genesisWorkspace}/strategy.json deep/er/theirs
            seq 1 3000 | xargs touch && echo planted many
            cat "$CYAGENTS_ENV" | grep -q executionId && echo "env: readable at $CYAGENTS_ENV"
            (echo x > "$CYAGENTS_ENV") 2>/dev/null && echo "env: WRITABLE" || echo "env: read-only"
            rm -f "$CYAGENTS_ENV" 2>/dev/null; [ -e "$CYAGENTS_ENV" ] && echo "env: not removable" || echo "env: REMOVED"
            ln -s {secret} /run/cyagents-env/evil 2>/dev/null && echo "context: WRITABLE" || echo "context: read-only"
            cat {secret} 2>/dev/null || echo "secret: unreachable"
            echo planted
            """;
        var again = """
            cd /workspace
            [ -p env.json ] && echo "fifo still here"
            ls -A | wc -l
            grep -o '"executionId": "[^"]*"' "$CYAGENTS_ENV"
            echo again
            """;
        const string fill = "dd if=/dev/zero of=/workspace/fill bs=1M count=400; echo dd=$?; sleep 60";
        const string flood = "echo flooding; head -c 209715200 /dev/zero | tr '\\0' A; echo; echo flooded";
        await run.RunContainedAsync(docker, Hostile,
            outcomes => HostileAgent.As(Hostile, image, cycle => cycle switch { 1 => plant, 2 => again, 3 => flood, _ => fill }, outcomes));
    }
}
