// dotnet run --project src/R1Sharp.Cli -- --help
Console.WriteLine("r1sharp");
