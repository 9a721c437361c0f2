using System.Text.Json;

namespace R1Sharp.Cli;

/// <summary>Turns the errors users can fix (bad files, bad options) into one clear line and exit code 1.</summary>
public static class CliErrors
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                                      or ArgumentException or FormatException or JsonException or UserError
                                      or NotSupportedException or OperationCanceledException
                                      or Data.DatasetFormatException or Training.Runs.RunFolderException
                                      or Recipes.Pipeline.PipelineStateException or Rewards.Rules.RewardConfigException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}

/// <summary>An error in what the user asked for; the message says what to change.</summary>
public sealed class UserError(string message) : Exception(message);
