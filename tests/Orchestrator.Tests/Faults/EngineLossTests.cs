using CyAgents.Contracts.Sandbox;
using CyAgents.Economy.Resources;
using CyAgents.Orchestrator.Sandbox;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CyAgents.Orchestrator.Tests.Faults;

/// <summary>
/// The engine goes away (issue 15 item 3, ADR 0089), against a fake Docker engine on a unix socket: an execution whose
/// engine vanished ends <c>HostFault</c>, not as the agent's failure, and the orchestrator waits for the engine with
/// exponential backoff and carries on when it answers.
/// </summary>
public sealed class EngineLossTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cyagents-engine-").FullName;
    private string Socket => Path.Combine(_root, "docker.sock");

    [Fact]
    public async Task Waiting_for_a_lost_engine_backs_off_exponentially_up_to_the_cap_and_returns_when_it_answers()
    {
        using var engine = new DockerEngine(Socket);
        var pauses = new List<TimeSpan>();
        var comeBack = new TaskCompletionSource();
        var waiting = engine.WaitUntilAvailableAsync(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(80), (e, pause) =>
        {
            e.Message.ShouldContain(Socket);
            lock (pauses)
            {
                pauses.Add(pause);
                if (pauses.Count == 5) comeBack.TrySetResult();
            }
        }, CancellationToken.None);
        await comeBack.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await using var fake = await FakeEngine.StartAsync(Socket, exitCode: 0);
        var failed = await waiting.WaitAsync(TimeSpan.FromSeconds(20));

        failed.ShouldBeGreaterThanOrEqualTo(5);
        lock (pauses)
            pauses.Take(5).Select(p => (int)p.TotalMilliseconds).ShouldBe([20, 40, 80, 80, 80]);
    }

    [Fact]
    public async Task Waiting_for_a_lost_engine_ends_when_the_orchestrator_stops()
    {
        using var engine = new DockerEngine(Socket);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Should.ThrowAsync<OperationCanceledException>(() =>
            engine.WaitUntilAvailableAsync(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50), null, stop.Token));
    }

    [Fact]
    public async Task An_execution_whose_engine_dies_while_it_runs_ends_HostFault_and_not_as_the_agents_failure()
    {
        var fake = await FakeEngine.StartAsync(Socket, exitCode: 0);
        using var engine = new DockerEngine(Socket);
        var sandbox = Sandbox(engine);

        var running = sandbox.RunAsync(Request(), CancellationToken.None);
        await fake.Waiting.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await fake.CrashAsync();
        var outcome = await running.WaitAsync(TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBe(ExecutionStatus.HostFault);
        outcome.Status.IsHostFault().ShouldBeTrue("the cycle refunds and re-enters it (ADR 0085)");
        outcome.Error.ShouldNotBeNull().ShouldStartWith("the Docker engine went away while it ran");
    }

    [Fact]
    public async Task An_agent_that_exits_non_zero_while_the_engine_is_up_is_still_its_own_failure()
    {
        await using var fake = await FakeEngine.StartAsync(Socket, exitCode: 3, exitAtOnce: true);
        using var engine = new DockerEngine(Socket);

        var outcome = await Sandbox(engine).RunAsync(Request(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBe(ExecutionStatus.Failed);
        outcome.ExitCode.ShouldBe(3);
    }

    [Fact]
    public async Task An_agent_that_exits_0_on_the_daemons_SIGTERM_is_a_host_fault_not_a_success()
    {
        // A daemon shutting down signals every container; Genesis exits 0 on SIGTERM, so wait and inspect alone say "success".
        await using var fake = await FakeEngine.StartAsync(Socket, exitCode: 0, exitAtOnce: true, events: ["kill:15", "die"]);
        using var engine = new DockerEngine(Socket);

        var outcome = await Sandbox(engine).RunAsync(Request(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBe(ExecutionStatus.HostFault);
        outcome.Error.ShouldNotBeNull().ShouldContain("signal 15");
    }

    [Fact]
    public async Task An_agent_that_exits_0_with_no_kill_from_the_engine_succeeded()
    {
        await using var fake = await FakeEngine.StartAsync(Socket, exitCode: 0, exitAtOnce: true, events: ["die"]);
        using var engine = new DockerEngine(Socket);

        var outcome = await Sandbox(engine).RunAsync(Request(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBe(ExecutionStatus.Succeeded);
    }

    [Fact]
    public async Task An_engine_error_mid_run_leaves_no_container_and_stops_the_output_reader_and_the_event_watch()
    {
        // Issue 9 item 9: the engine refuses the wait (500) while the container runs.
        await using var fake = await FakeEngine.StartAsync(Socket, exitCode: 0, waitFails: true, events: []);
        using var engine = new DockerEngine(Socket);

        var outcome = await Sandbox(engine).RunAsync(Request(), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));

        outcome.Status.ShouldBe(ExecutionStatus.Failed);
        outcome.Error.ShouldNotBeNull().ShouldContain("the engine failed during the run");
        fake.Calls.ShouldContain("kill SIGKILL");
        fake.Calls.ShouldContain("delete");
        // RunAsync returned, and its finally awaits the sampler; the streams it held open were closed by the orchestrator.
        await fake.AttachClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
        await fake.EventsClosed.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private DockerSandbox Sandbox(DockerEngine engine) =>
        new(engine, new SandboxOptions { Image = "cyagents-agent:fake", ApiSocketFolder = _root }, NullLogger<DockerSandbox>.Instance);

    private ExecutionRequest Request()
    {
        var workspace = Directory.CreateDirectory(Path.Combine(_root, "workspace")).FullName;
        var environment = new AgentEnvironment
        {
            AgentId = "genesis-0", ExecutionId = "c1-entry-genesis-0", Token = "t", Cycle = 1, NextCycle = 2,
            Bundle = ResourceBundle.Create(250, 96).ToWire(), Balance = new BalanceView(100, 0, 100), Prices = new PricesView(0.01, 0.005, 0.001, 0.01),
            ApiSocket = "/run/cyagents/api.sock", Deadline = DateTimeOffset.UtcNow.AddSeconds(30),
        };
        return new ExecutionRequest("c1-entry-genesis-0", "genesis-0", 1, ResourceBundle.Create(250, 96), workspace, environment, TimeSpan.FromSeconds(30));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>
    /// The few Engine API calls the sandbox makes, on a unix socket. <c>wait</c> answers its headers and then holds the body
    /// (as dockerd does while a container runs) until <see cref="CrashAsync"/> cuts the connection and takes the socket away.
    /// </summary>
    private sealed class FakeEngine : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TaskCompletionSource _crash = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private FakeEngine(WebApplication app) => _app = app;

        /// <summary>Completes when the sandbox is waiting for the container.</summary>
        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The calls that change a container, in order (<c>kill SIGNAL</c>, <c>delete</c>).</summary>
        public List<string> Calls { get; } = [];
        /// <summary>Complete when the orchestrator closed the attach (output) and events streams the fake held open.</summary>
        public TaskCompletionSource AttachClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource EventsClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <param name="events">Null: no events endpoint (404). Else the events sent at once (<c>kill:SIGNAL</c>, <c>die</c>),
        /// then the stream held open.</param>
        public static async Task<FakeEngine> StartAsync(string socket, int exitCode, bool exitAtOnce = false, string[]? events = null,
            bool waitFails = false)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socket));
            var app = builder.Build();
            var fake = new FakeEngine(app);
            const string id = "fa4e0000000000000000000000000000000000000000000000000000000000c0";
            app.MapGet("/_ping", () => "OK");
            app.MapGet("/v1.41/_ping", () => "OK");
            app.MapPost("/v1.41/containers/create", () => Results.Json(new { Id = id }, statusCode: 201));
            app.MapPost("/v1.41/containers/{id}/start", () => Results.NoContent());
            if (events is null || exitAtOnce)
                app.MapPost("/v1.41/containers/{id}/attach", () => Results.Bytes([], "application/vnd.docker.raw-stream"));
            else
            {
                app.MapPost("/v1.41/containers/{id}/attach", async (HttpContext http) =>
                {
                    http.Response.ContentType = "application/vnd.docker.raw-stream";
                    await http.Response.Body.FlushAsync();
                    await HoldUntilClosedAsync(http, fake._crash.Task);
                    fake.AttachClosed.TrySetResult();
                });
            }
            if (events is not null)
            {
                app.MapGet("/v1.41/events", async (HttpContext http) =>
                {
                    http.Response.ContentType = "application/json";
                    foreach (var e in events)
                    {
                        var (action, signal) = e.Split(':') is [var a, var s] ? (a, s) : (e, null);
                        var attributes = signal is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["signal"] = signal };
                        await http.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(new
                        {
                            Type = "container", Action = action, Actor = new { ID = id, Attributes = attributes },
                        }) + "\n");
                    }
                    await http.Response.Body.FlushAsync();
                    await HoldUntilClosedAsync(http, fake._crash.Task);
                    fake.EventsClosed.TrySetResult();
                });
            }
            app.MapPost("/v1.41/containers/{id}/wait", async (HttpContext http) =>
            {
                if (waitFails)
                {
                    http.Response.StatusCode = 500;
                    await http.Response.WriteAsJsonAsync(new { message = "containerd: ttrpc: closed" });
                    return;
                }
                if (exitAtOnce)
                {
                    await http.Response.WriteAsJsonAsync(new { StatusCode = exitCode });
                    return;
                }
                http.Response.ContentType = "application/json";
                await http.Response.Body.FlushAsync();
                fake.Waiting.TrySetResult();
                await fake._crash.Task;
                http.Abort();
            });
            app.MapPost("/v1.41/containers/{id}/kill", (string signal) =>
            {
                lock (fake.Calls) fake.Calls.Add($"kill {signal}");
                return Results.NoContent();
            });
            app.MapGet("/v1.41/containers/{id}/json", () => Results.Json(new
            {
                Id = id, Name = "/cyagents-fake", State = new { Status = "exited", Running = false, OOMKilled = false, ExitCode = exitCode },
            }));
            app.MapGet("/v1.41/containers/{id}/logs", () => Results.Bytes([], "application/vnd.docker.raw-stream"));
            app.MapDelete("/v1.41/containers/{id}", () =>
            {
                lock (fake.Calls) fake.Calls.Add("delete");
                return Results.NoContent();
            });
            await app.StartAsync();
            return fake;
        }

        private static async Task HoldUntilClosedAsync(HttpContext http, Task crash)
        {
            try { await Task.WhenAny(Task.Delay(Timeout.Infinite, http.RequestAborted), crash); }
            catch (OperationCanceledException) { }
        }

        /// <summary>The daemon dies: open streams are cut and the socket stops answering.</summary>
        public async Task CrashAsync()
        {
            _crash.TrySetResult();
            await _app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token);
            await _app.DisposeAsync();
        }

        public async ValueTask DisposeAsync()
        {
            _crash.TrySetResult();
            await _app.DisposeAsync();
        }
    }
}
