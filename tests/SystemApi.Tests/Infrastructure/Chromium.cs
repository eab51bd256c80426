using Microsoft.Playwright;

namespace CyAgents.SystemApi.Tests.Infrastructure;

/// <summary>
/// Headless Chromium through Playwright with the machine's flags (docs: PLATFORM "Browser tests"). A missing browser fails the
/// test, it never skips: scripts/test installs it (scripts/ensure-chromium).
/// </summary>
public static class Chromium
{
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CYAGENTS_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        File.Exists(ExecutablePath).ShouldBeTrue($"Chromium is needed at {ExecutablePath} (scripts/ensure-chromium installs it)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return (playwright, browser);
    }

    /// <summary>Where screenshots go: TestResults/dashboard under the test assembly's folder (printed by the tests).</summary>
    public static string ScreenshotFolder => Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard")).FullName;
}
