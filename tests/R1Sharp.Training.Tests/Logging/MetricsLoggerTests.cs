using System.Text.Json;
using R1Sharp.Training.Logging;

namespace R1Sharp.Training.Tests.Logging;

public sealed class MetricsLoggerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-metrics-").FullName;
    private readonly ManualClock _clock = new(ManualClock.At(1700000000));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private MetricsLogger Logger(TextWriter? console = null, long? resumeAfter = null, IReadOnlyList<string>? show = null, int every = 1) => new(new MetricsLoggerOptions
    {
        RunDirectory = _dir,
        TotalSteps = 5,
        Console = console is null ? ConsoleDisplay.None : ConsoleDisplay.Plain,
        PlainOutput = console,
        ResumeAfterStep = resumeAfter,
        ConsoleMetrics = show,
        PlainEvery = every,
        Clock = _clock,
    });

    private void LogSteps(MetricsLogger logger, int from, int to, double offset = 0)
    {
        for (int step = from; step <= to; step++)
        {
            _clock.Now = _clock.Now.AddSeconds(2);
            logger.Log(step, new Dictionary<string, double> { ["loss"] = step + offset, ["reward/accuracy"] = step / 10.0 });
        }
    }

    private List<JsonElement> Jsonl() =>
        File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void Jsonl_has_one_flat_object_per_step_with_wall_time()
    {
        using (var logger = Logger())
        {
            _clock.Now = ManualClock.At(1700000001.5);
            logger.Log(1, new Dictionary<string, double> { ["loss"] = 0.5, ["kl"] = double.NaN, ["lr"] = 3e-6 });
            // Flushed each step: readable while the logger is open.
            using var read = new StreamReader(new FileStream(logger.JsonlPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            Assert.Equal("""{"step":1,"wall_time":1700000001.5,"loss":0.5,"kl":null,"lr":3E-06}""", read.ReadLine());
        }
    }

    [Fact]
    public void TensorBoard_gets_the_same_steps()
    {
        string tb;
        using (var logger = Logger())
        {
            LogSteps(logger, 1, 3);
            tb = logger.TensorBoardPath!;
        }
        var events = EventFile.Read(tb);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal([1L, 2, 3], events.Skip(1).Select(e => e.Step));
        Assert.Equal([("train/loss", 3f), ("reward/accuracy", 0.3f)], events[3].Values!); // grouped: train/, or the name's own group
        Assert.Equal(1700000006.0, events[3].WallTime);
    }

    [Theory]
    [InlineData("loss", "train/loss")]
    [InlineData("learning_rate", "train/learning_rate")]
    [InlineData("eval_loss", "eval/loss")]
    [InlineData("rewards/accuracy", "rewards/accuracy")]
    [InlineData("eval/pass@1", "eval/pass@1")]
    public void TensorBoard_tags_are_grouped(string metric, string tag) => Assert.Equal(tag, MetricsLogger.TensorBoardTag(metric));

    [Fact]
    public void Plain_console_shows_the_time_left_and_never_repeats_a_step()
    {
        var console = new StringWriter();
        using (var logger = Logger(console, show: ["loss", "eval_loss"]))
        {
            LogSteps(logger, 1, 2);
            _clock.Now = _clock.Now.AddSeconds(4);
            logger.Log(3, new Dictionary<string, double> { ["loss"] = 3 });
            logger.Log(3, new Dictionary<string, double> { ["loss"] = 3 });                    // the same step again: nothing new
            logger.Log(3, new Dictionary<string, double> { ["loss"] = 3, ["eval_loss"] = 2.5 }); // only the evaluation is new
        }
        var lines = console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // 2 s per step, then 4 s: the moving average is 0.8 × 2 + 0.2 × 4 = 2.4 s, × 2 steps left.
        Assert.Equal(["step 1/5 | loss 1", "step 2/5 | loss 2 | 2.00 s/step | ETA 6s", "step 3/5 | loss 3 | 4.00 s/step | ETA 5s",
            "step 3/5 | eval_loss 2.5"], lines);
    }

    [Theory]
    [InlineData(4.4, "4s")]
    [InlineData(59.6, "1m00s")]
    [InlineData(425, "7m05s")]
    [InlineData(11520, "3h12m")]
    public void Times_left_are_written_to_the_precision_that_matters(double seconds, string text) => Assert.Equal(text, MetricsText.Duration(seconds));

    [Fact]
    public void Plain_console_prints_one_line_per_step_with_seconds_per_step()
    {
        var console = new StringWriter();
        using (var logger = Logger(console, show: ["loss"]))
        {
            LogSteps(logger, 1, 2);
            logger.Message("saved checkpoint-2");
        }
        var lines = console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["step 1/5 | loss 1", "step 2/5 | loss 2 | 2.00 s/step | ETA 6s", "saved checkpoint-2"], lines);
    }

    [Fact]
    public void Plain_every_n_steps_keeps_the_last_step()
    {
        var console = new StringWriter();
        using (var logger = Logger(console, every: 2)) LogSteps(logger, 1, 5);
        var steps = console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[1]).ToArray();
        Assert.Equal(["1/5", "3/5", "5/5"], steps);
    }

    [Fact]
    public void Resuming_cuts_the_jsonl_back_to_the_checkpoint_and_purges_TensorBoard()
    {
        using (var logger = Logger()) LogSteps(logger, 1, 5);
        string resumedTb;
        using (var logger = Logger(resumeAfter: 3))
        {
            Assert.Equal([1L, 2, 3], Jsonl().Select(r => r.GetProperty("step").GetInt64()));
            LogSteps(logger, 4, 5, offset: 100);
            resumedTb = logger.TensorBoardPath!;
        }
        var rows = Jsonl();
        Assert.Equal([1L, 2, 3, 4, 5], rows.Select(r => r.GetProperty("step").GetInt64()));
        Assert.Equal([1.0, 2, 3, 104, 105], rows.Select(r => r.GetProperty("loss").GetDouble()));

        var events = EventFile.Read(resumedTb);
        Assert.Equal((4L, 1), (events[1].Step, events[1].SessionStatus!.Value));   // hide old steps ≥ 4
        Assert.Equal([4L, 5], events.Skip(2).Select(e => e.Step));
        Assert.Equal(2, Directory.GetFiles(_dir, "events.out.tfevents.*").Length);
    }

    [Fact]
    public void Truncation_drops_a_torn_last_line_and_rejects_a_broken_middle_line()
    {
        string path = Path.Combine(_dir, "metrics.jsonl");
        File.WriteAllText(path, "{\"step\":1,\"loss\":1}\n{\"step\":2,\"loss\":2}\n{\"step\":3,\"lo");
        Assert.Equal(2, MetricsJsonl.TruncateAfter(path, 10));
        Assert.Equal(2, File.ReadAllLines(path).Length);

        File.WriteAllText(path, "{\"step\":1}\nnot json\n{\"step\":3}\n");
        var e = Assert.Throws<InvalidDataException>(() => MetricsJsonl.TruncateAfter(path, 10));
        Assert.Equal($"{path}:2: not a JSON object with a numeric \"step\"", e.Message);
        Assert.Equal(0, MetricsJsonl.TruncateAfter(Path.Combine(_dir, "absent.jsonl"), 3));
    }

    [Fact]
    public void Rejects_decreasing_steps_and_reserved_names()
    {
        using var logger = Logger();
        logger.Log(3, new Dictionary<string, double> { ["loss"] = 1 });
        logger.Log(3, new Dictionary<string, double> { ["eval/accuracy"] = 0.5 });   // same step again: allowed
        Assert.Contains("must not decrease", Assert.Throws<ArgumentException>(() => logger.Log(2, new Dictionary<string, double>())).Message);
        Assert.Throws<ArgumentException>(() => logger.Log(4, new Dictionary<string, double> { ["step"] = 1 }));
        Assert.Throws<ArgumentException>(() => logger.Log(4, new Dictionary<string, double> { ["wall_time"] = 1 }));
    }

    [Fact]
    public void Console_only_logger_writes_no_files()
    {
        var console = new StringWriter();
        using (var logger = new MetricsLogger(new MetricsLoggerOptions { Console = ConsoleDisplay.Plain, PlainOutput = console }))
        {
            Assert.Null(logger.JsonlPath);
            Assert.Null(logger.TensorBoardPath);
            Assert.Equal(ConsoleDisplay.Plain, logger.Display);
            logger.Log(1, new Dictionary<string, double> { ["loss"] = 1.23456789, ["lr"] = 3e-6, ["big"] = 1.5e7 });
        }
        Assert.Equal("step 1 | loss 1.2346 | lr 3e-6 | big 1.5e+7", console.ToString().Trim());
    }
}
