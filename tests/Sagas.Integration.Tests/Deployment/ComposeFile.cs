using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sagas.Integration.Tests.Deployment;

/// <summary>One service of the compose file as a container would get it: its environment resolved, its image's build.</summary>
public sealed record ComposeService(
    string Name,
    string? Image,
    string? Dockerfile,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<string> Volumes,
    IReadOnlyList<string> HealthCheck);

/// <summary>
/// compose/docker-compose.yml read the way <c>docker compose</c> reads it, for the part the compose spec needs: services
/// with their environment (mapping or list form, YAML anchors and <c>&lt;&lt;</c> merge keys), image or build
/// (context and dockerfile), volumes and health check; values interpolated from an env file (<c>$VAR</c>,
/// <c>${VAR}</c>, <c>${VAR:-default}</c>, <c>${VAR-default}</c>, <c>${VAR:?error}</c>, <c>${VAR?error}</c>, <c>$$</c>).
/// Where docker-compose is installed, <see cref="ResolveWithDockerCompose"/> gives the tool's own reading to compare.
/// </summary>
public static partial class ComposeFile
{
    public static IReadOnlyDictionary<string, ComposeService> Read(string composeFile, IReadOnlyDictionary<string, string> variables) =>
        Parse(composeFile, File.ReadAllText(composeFile), value => Interpolate(value, variables));

    /// <summary><c>docker-compose --env-file … config</c>'s output, read back; null when docker-compose is not installed.</summary>
    public static async Task<IReadOnlyDictionary<string, ComposeService>?> ResolveWithDockerCompose(string composeFile, string envFile)
    {
        var start = new ProcessStartInfo("docker-compose") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "--env-file", envFile, "-f", composeFile, "config" })
            start.ArgumentList.Add(argument);
        // The shell's variables win over the env file in docker-compose: leave none of the file's names set.
        foreach (var name in ReadEnvFile(envFile).Keys)
            start.Environment.Remove(name);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("could not start docker-compose");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"docker-compose config failed ({process.ExitCode}): {error}");
            // The tool has interpolated already; what it prints keeps $$ escaped, which no environment value here uses.
            return Parse(composeFile, await output, value => value);
        }
    }

    /// <summary>An env file as docker-compose reads it: KEY=VALUE lines, # comments, optional quotes around a value.</summary>
    public static IReadOnlyDictionary<string, string> ReadEnvFile(string path)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
                throw new FormatException($"{path}: '{line}' is not KEY=VALUE");
            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                value = value[1..^1];
            variables[line[..equals].Trim()] = value;
        }

        return variables;
    }

    public static string Interpolate(string value, IReadOnlyDictionary<string, string> variables) =>
        Variable().Replace(value, match =>
        {
            if (match.Value == "$$")
                return "$";
            var name = match.Groups["name"].Success ? match.Groups["name"].Value : match.Groups["bare"].Value;
            var found = variables.TryGetValue(name, out var set);
            var op = match.Groups["op"].Value;
            var argument = match.Groups["arg"].Value;
            return op switch
            {
                ":-" => found && set!.Length > 0 ? set : Interpolate(argument, variables),
                "-" => found ? set! : Interpolate(argument, variables),
                ":?" when !found || set!.Length == 0 => throw new InvalidOperationException($"compose needs {name}: {argument}"),
                "?" when !found => throw new InvalidOperationException($"compose needs {name}: {argument}"),
                _ => found ? set! : "",
            };
        });

    private static Dictionary<string, ComposeService> Parse(string composeFile, string yaml, Func<string, string> interpolate)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
            stream.Load(new MergingParser(new Parser(reader)));
        var services = Mapping(((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("services")]);
        var directory = Path.GetDirectoryName(Path.GetFullPath(composeFile))!;
        var result = new Dictionary<string, ComposeService>(StringComparer.Ordinal);
        foreach (var (key, node) in services.Children)
        {
            var name = Scalar(key);
            var service = Mapping(node);
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            switch (Child(service, "environment"))
            {
                case YamlMappingNode map:
                    foreach (var (variable, value) in map.Children)
                        environment[Scalar(variable)] = interpolate(Scalar(value));
                    break;
                case YamlSequenceNode list:
                    foreach (var entry in list.Children.Select(Scalar).Select(interpolate))
                    {
                        var equals = entry.IndexOf('=', StringComparison.Ordinal);
                        environment[equals < 0 ? entry : entry[..equals]] = equals < 0 ? "" : entry[(equals + 1)..];
                    }

                    break;
            }

            string? dockerfile = null;
            if (Child(service, "build") is { } build)
            {
                var context = build is YamlScalarNode contextOnly ? interpolate(Scalar(contextOnly)) : interpolate(Scalar(Mapping(build).Children[new YamlScalarNode("context")]));
                var file = build is YamlMappingNode withFile && Child(withFile, "dockerfile") is { } named ? interpolate(Scalar(named)) : "Dockerfile";
                dockerfile = Path.GetFullPath(Path.Combine(Path.GetFullPath(context, directory), file));
            }

            var volumes = Child(service, "volumes") is YamlSequenceNode mounts
                ? mounts.Children.Select(mount => mount is YamlMappingNode longForm
                    ? $"{Scalar(longForm.Children[new YamlScalarNode("source")])}:{Scalar(longForm.Children[new YamlScalarNode("target")])}"
                    : interpolate(Scalar(mount))).ToList()
                : [];
            var healthCheck = Child(service, "healthcheck") is YamlMappingNode health && Child(health, "test") is { } test
                ? test is YamlSequenceNode parts ? parts.Children.Select(Scalar).Select(interpolate).ToList() : [interpolate(Scalar(test))]
                : new List<string>();
            var image = Child(service, "image") is { } imageNode ? interpolate(Scalar(imageNode)) : null;
            result[name] = new ComposeService(name, image, dockerfile, environment, volumes, healthCheck);
        }

        return result;
    }

    private static YamlNode? Child(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    private static YamlMappingNode Mapping(YamlNode node) =>
        node as YamlMappingNode ?? throw new FormatException($"expected a mapping at {node.Start}");

    private static string Scalar(YamlNode node) =>
        node is YamlScalarNode { Value: var value } ? value ?? "" : throw new FormatException($"expected a scalar at {node.Start}");

    [GeneratedRegex(@"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:-|-|:\?|\?)(?<arg>[^}]*))?\}|\$(?<bare>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Variable();
}

/// <summary>
/// What a service's image adds to the compose environment: the <c>ENV</c> pairs and the <c>ENTRYPOINT</c> of the
/// Dockerfile's last stage (the runtime image), and its <c>RUN</c> commands (continued lines joined). Only the forms our
/// Dockerfiles use: <c>ENV KEY=value \</c> continued over lines, and the exec form <c>ENTRYPOINT ["dotnet", "X.dll"]</c>.
/// </summary>
public sealed record DockerImage(IReadOnlyDictionary<string, string> Environment, IReadOnlyList<string> Entrypoint)
{
    public IReadOnlyList<string> Runs { get; init; } = [];

    public static DockerImage Read(string dockerfile)
    {
        var instructions = new List<string>();
        var current = new StringBuilder();
        foreach (var raw in File.ReadAllLines(dockerfile))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') && current.Length == 0)
                continue;
            var continued = line.EndsWith('\\');
            current.Append(continued ? line[..^1] : line).Append(' ');
            if (continued)
                continue;
            if (current.ToString().Trim() is { Length: > 0 } instruction)
                instructions.Add(instruction);
            current.Clear();
        }

        var lastStage = instructions.FindLastIndex(i => i.StartsWith("FROM ", StringComparison.OrdinalIgnoreCase));
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> entrypoint = [];
        List<string> runs = [];
        foreach (var instruction in instructions.Skip(lastStage + 1))
        {
            if (instruction.StartsWith("RUN ", StringComparison.OrdinalIgnoreCase))
                runs.Add(instruction[4..].Trim());
            else if (instruction.StartsWith("ENV ", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var pair in instruction[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = pair.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                        throw new FormatException($"{dockerfile}: ENV '{pair}' is not KEY=value");
                    environment[pair[..equals]] = pair[(equals + 1)..];
                }
            }
            else if (instruction.StartsWith("ENTRYPOINT ", StringComparison.OrdinalIgnoreCase))
            {
                entrypoint = System.Text.Json.JsonSerializer.Deserialize<List<string>>(instruction["ENTRYPOINT ".Length..])
                    ?? throw new FormatException($"{dockerfile}: ENTRYPOINT is not the exec form");
            }
        }

        return new DockerImage(environment, entrypoint) { Runs = runs };
    }
}
