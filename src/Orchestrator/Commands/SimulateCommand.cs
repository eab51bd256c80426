using System.CommandLine;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `simulate` verb.</summary>
public static class SimulateCommand
{
    public static Command Create()
    {
        var command = new Command("simulate", "Not built yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("cyagents simulate: not built yet");
            return 2;
        });
        return command;
    }
}
