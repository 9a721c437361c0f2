using System.CommandLine;
using System.CommandLine.Parsing;
using System.Reflection;
using System.Text.Json;
using R1Sharp.Rewards.Rules;

namespace R1Sharp.Cli;

/// <summary>
/// Turns every exception a command throws into one line on standard error and exit code 1. Errors users can fix (bad
/// files, bad options: the inputs validate what they read and say which file, line or field is wrong) print their
/// message; anything else is a bug and prints one line naming the command, its inputs and the exception. The stack
/// trace follows only with <c>--verbose</c>.
/// </summary>
public static class CliErrors
{
    /// <summary>Runs <paramref name="action"/> for <paramref name="parse"/>'s command.</summary>
    public static int Run(ParseResult parse, bool verbose, Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception thrown)
        {
            var e = Unwrap(thrown);
            if (e is RewardConfigException)
            {
                // Reward names and options are checked when the recipe builds its rewards, after the config was read.
                var config = parse.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.Option.Name == "--config" && o.Tokens.Count > 0);
                Console.Error.WriteLine($"error: {CommandPath(parse)}{(config is null ? "" : $" --config {config.Tokens[0].Value}")}: rewards: {e.Message}");
                if (verbose) Console.Error.WriteLine(e);
            }
            else if (IsUserError(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                if (verbose) Console.Error.WriteLine(e);
            }
            else
            {
                string? report = verbose ? null : WriteReport(parse, e);
                Console.Error.WriteLine($"error: {Describe(parse)}: unexpected {e.GetType().Name}: {FirstLine(e.Message)}{RaisedFrom(e.Message)} " +
                                        (verbose ? "(the trace follows)"
                                            : report is null ? "(run with --verbose for the trace)" : $"(the trace is in {report}; --verbose prints it)"));
                if (verbose) Console.Error.WriteLine(e);
            }
            return 1;
        }
    }

    /// <summary>Exceptions whose message is written for the user (it names the file, line or option and what to change).</summary>
    public static bool IsUserError(Exception e) => e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException
        or ArgumentException or FormatException or JsonException or UserError or NotSupportedException or OperationCanceledException
        or Data.DatasetFormatException or RewardConfigException or RewardAssemblyException or UnauthorizedAccessException
        or Training.Runs.RunFolderException or Recipes.Pipeline.PipelineStateException or DllNotFoundException
        || (e is IOException && e is not EndOfStreamException);

    static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is TargetInvocationException { InnerException: { } inner }) e = inner;
            else if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) e = aggregate.InnerExceptions[0];
            else return e;
        }
    }

    /// <summary>
    /// Keeps the whole exception of a failure nobody expected (a bug, or a libtorch error whose native trace is the only
    /// clue) in a file, so that one run is enough to report it: <c>error-TIME.log</c> in the command's existing
    /// <c>--output</c> folder, else in the temporary folder. Null when neither can be written.
    /// </summary>
    static string? WriteReport(ParseResult parse, Exception e)
    {
        var output = parse.CommandResult.Children.OfType<OptionResult>().FirstOrDefault(o => o.Option.Name == "--output" && o.Tokens.Count > 0);
        string folder = output is not null && Directory.Exists(output.Tokens[0].Value) ? output.Tokens[0].Value : Path.GetTempPath();
        string path = Path.Combine(Path.GetFullPath(folder), $"error-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.log");
        try
        {
            File.WriteAllText(path, $"{DateTime.UtcNow:O} r1sharp {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}\n" +
                                    $"{System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {Environment.OSVersion}\n\n{e}\n");
            return path;
        }
        catch (Exception io) when (io is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>libtorch's errors say where they were raised on their second line ("Exception raised from f at file:line"): keep it.</summary>
    static string RaisedFrom(string message)
    {
        int at = message.IndexOf("Exception raised from ", StringComparison.Ordinal);
        if (at < 0) return "";
        int end = message.IndexOfAny(['\r', '\n', '('], at);
        return $" [{(end < 0 ? message[at..] : message[at..end]).Trim()}]";
    }

    static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        return (end < 0 ? message : message[..end]).Trim();
    }

    /// <summary><c>r1sharp pipeline run</c>: the command's words, without options.</summary>
    public static string CommandPath(ParseResult parse)
    {
        var words = new List<string>();
        for (SymbolResult? r = parse.CommandResult; r is CommandResult c && c.Parent is not null; r = c.Parent)
            words.Insert(0, c.Command.Name);
        return string.Join(' ', ["r1sharp", .. words]);
    }

    /// <summary>Options naming inputs and outputs, shown with the command when something unexpected happens.</summary>
    static readonly HashSet<string> PathOptions = ["--model", "--tokenizer", "--input", "--output", "--config", "--data", "--run"];

    /// <summary>The command and the inputs it was given: <c>r1sharp info --model runs/x</c>.</summary>
    public static string Describe(ParseResult parse)
    {
        var parts = new List<string> { CommandPath(parse) };
        foreach (var child in parse.CommandResult.Children)
        {
            if (child is OptionResult { Implicit: false } option && option.Tokens.Count > 0
                && (PathOptions.Contains(option.Option.Name) || option.Tokens.Any(t => IsPath(t.Value))))
                parts.Add($"{option.Option.Name} {string.Join(' ', option.Tokens.Select(t => t.Value))}");
            else if (child is ArgumentResult argument && argument.Tokens.Any(t => IsPath(t.Value)))
                parts.Add(string.Join(' ', argument.Tokens.Select(t => t.Value)));
        }
        return string.Join(' ', parts);
    }

    static bool IsPath(string value) => value.Length > 0 && (File.Exists(value) || Directory.Exists(value));
}

/// <summary>An error in what the user asked for; the message says what to change.</summary>
public sealed class UserError(string message) : Exception(message);
