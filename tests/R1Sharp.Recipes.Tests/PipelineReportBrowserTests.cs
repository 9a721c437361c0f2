using System.Diagnostics;
using System.Text.RegularExpressions;
using R1Sharp.Recipes.Pipeline;
using SkiaSharp;

namespace R1Sharp.Recipes.Tests;

/// <summary>
/// The report as a browser shows it: Debian's <c>chromium</c> (scripts/system-packages.txt; ./test.sh installs it)
/// opens report.html from disk with no network, takes a screenshot and dumps the DOM after the load event, where the
/// report's inline script has counted the images that decoded.
/// </summary>
public sealed class PipelineReportBrowserTests : IDisposable
{
    readonly string _run = Directory.CreateTempSubdirectory("r1sharp-report-browser-").FullName;

    public void Dispose() => Directory.Delete(_run, recursive: true);

    [Fact]
    public void Report_renders_in_headless_chromium_with_its_table_and_every_image_loaded()
    {
        SyntheticRun.Write(_run);
        string url = new Uri(PipelineReport.Write(_run)).AbsoluteUri;

        string screenshot = Path.Combine(_run, "screenshot.png");
        Chromium(["--screenshot=" + screenshot, "--window-size=1280,2000", url]);
        Assert.True(File.Exists(screenshot), $"chromium wrote no screenshot at {screenshot}");
        using (var bitmap = SKBitmap.Decode(screenshot))
        {
            Assert.NotNull(bitmap);
            Assert.Equal((1280, 2000), (bitmap.Width, bitmap.Height));
            // A rendered page, not a blank one: many colours (text, table rules, plot lines) and a fair share of ink.
            var colours = new HashSet<uint>();
            int ink = 0, sampled = 0;
            for (int y = 0; y < bitmap.Height; y += 3)
                for (int x = 0; x < bitmap.Width; x += 3, sampled++)
                {
                    var c = bitmap.GetPixel(x, y);
                    colours.Add((uint)c);
                    if (c.Red + c.Green + c.Blue < 600) ink++;
                }
            Assert.True(colours.Count > 50, $"the screenshot has only {colours.Count} colours");
            Assert.True(ink > sampled / 100, $"the screenshot is nearly blank ({ink} of {sampled} sampled pixels drawn)");
        }

        string dom = Chromium(["--dump-dom", url]);
        Assert.Matches("<body[^>]* data-images=\"11\"", dom);
        Assert.Matches("<body[^>]* data-images-loaded=\"11\"", dom);
        string table = Regex.Match(dom, "<table class=\"results\" id=\"results\">.*?</table>", RegexOptions.Singleline).Value;
        Assert.Equal(8, Regex.Matches(table, "<tr data-row=").Count);
        Assert.Contains("<b>72.5</b>", table);
        Assert.DoesNotContain("<script>alert", dom);
    }

    /// <summary>Runs headless chromium on <paramref name="arguments"/> (60 s at most) and returns its standard output.</summary>
    string Chromium(string[] arguments)
    {
        string executable = new[] { "chromium", "chromium-browser" }
            .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                "chromium is not installed: this test renders the pipeline report in headless Chromium. " +
                "Run scripts/install-system-packages.sh (./test.sh does) or `apt-get install chromium`.");
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Root in containers needs --no-sandbox; a private profile keeps parallel runs apart.
        foreach (string a in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                     "--user-data-dir=" + Path.Combine(_run, "profile"), .. arguments])
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium {string.Join(' ', arguments)} did not finish within 60 s");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
