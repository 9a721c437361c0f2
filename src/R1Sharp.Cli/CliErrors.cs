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
                Console.Error.WriteLine($"error: {Describe(parse)}: unexpected {e.GetType().Name}: {FirstLine(e.Message)} " +
                                        (verbose ? "(the trace follows)" : "(run with --verbose for the trace)"));
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
