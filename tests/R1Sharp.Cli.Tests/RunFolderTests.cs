namespace R1Sharp.Cli.Tests;

/// <summary>A training command never writes into a folder that holds another run unless it is asked to resume it.</summary>
public class RunFolderTests
{
    [Theory]
    [InlineData("sft")]
    [InlineData("grpo")]
    [InlineData("rm")]
    [InlineData("pretrain")]
    public void A_folder_holding_a_run_is_refused_without_resume_and_left_untouched(string command)
    {
        var dir = Directory.CreateTempSubdirectory("r1sharp-runfolder-").FullName;
        try
        {
            string run = Path.Combine(dir, "run");
            Directory.CreateDirectory(Path.Combine(run, "model"));
            File.WriteAllText(Path.Combine(run, "summary.json"), "{\"recipe\": \"earlier\"}");
            File.WriteAllText(Path.Combine(run, "config.yaml"), "# the earlier run's config\n");
            string[] model = command == "pretrain" ? [] : ["--model", dir];   // the folder is checked before the model is read
            string error = CliRunner.Fails([command, .. model, "--output", run]);
            Assert.Contains($"{run} already holds a finished run (summary.json, model)", error);
            Assert.Contains("--resume", error);
            Assert.Equal("# the earlier run's config\n", File.ReadAllText(Path.Combine(run, "config.yaml")));
            Assert.Equal(["config.yaml", "model", "summary.json"], Directory.GetFileSystemEntries(run).Select(Path.GetFileName).Order());
        }
        finally { Directory.Delete(dir, true); }
    }
}
