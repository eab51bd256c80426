using System.CommandLine;

namespace CyAgents.Orchestrator.Commands;

/// <summary>The `clear` verb.</summary>
public static class ClearCommand
{
    public static Command Create()
    {
        var command = new Command("clear", "Not built yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("cyagents clear: not built yet");
            return 2;
        });
        return command;
    }
}
