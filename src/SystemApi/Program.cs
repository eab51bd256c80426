using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Logging;

// Standalone System API host; the orchestrator hosts the same API in-process with the same two calls.
var builder = WebApplication.CreateBuilder(args);
var log = SystemLogOptions.From(builder.Configuration);
builder.Logging.AddSystemLog(SystemLog.Create(string.IsNullOrWhiteSpace(log.Path) ? "logs/system.log" : log.Path,
    SystemLog.SystemApi, alsoConsole: log.Console, options: log));
builder.Services.AddSystemApi(builder.Configuration);

var app = builder.Build();
app.MapSystemApi();
app.Run();

/// <summary>Entry point, public so WebApplicationFactory can host it in tests.</summary>
public partial class Program;
