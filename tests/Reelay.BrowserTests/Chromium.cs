using Microsoft.Playwright;
using Reelay.BrowserTests;

[assembly: AssemblyFixture(typeof(Chromium))]

namespace Reelay.BrowserTests;

/// <summary>
/// One Chromium for the whole run (each test gets its own context): Debian's <c>/usr/bin/chromium</c>,
/// since Playwright's own browser download cannot run here. CI runs as root, where Chromium refuses to
/// start with its sandbox, so the sandbox is off; the pages it opens are only Reelay's own, on loopback.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: run scripts/install-prerequisites --test (it installs Debian's chromium).");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            ChromiumSandbox = false,
            // Muted autoplay is allowed anyway; this lets the test start playback without a user gesture either way.
            Args = ["--autoplay-policy=no-user-gesture-required", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
