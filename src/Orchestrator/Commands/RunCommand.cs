using System.CommandLine;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `run` verb.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var command = new Command("run", "Not built yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("cyagents run: not built yet");
            return 2;
        });
        return command;
    }
}
