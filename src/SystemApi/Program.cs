using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Logging;

// Standalone System API host; the orchestrator hosts the same API in-process with the same two calls.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.AddSystemLog(SystemLog.Create(builder.Configuration["SystemLog:Path"] ?? "logs/system.log",
    SystemLog.SystemApi, alsoConsole: builder.Configuration.GetValue("SystemLog:Console", true)));
builder.Services.AddSystemApi(builder.Configuration);

var app = builder.Build();
app.MapSystemApi();
app.Run();

/// <summary>Entry point, public so WebApplicationFactory can host it in tests.</summary>
public partial class Program;
