using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MassTransit;

namespace Sagas.Transports.AmazonSqs;

/// <summary>
/// How queue and topic names are formed. Addresses carry the logical name (what MassTransit and our code call the
/// endpoint, e.g. <c>scan-files</c>); AWS sees the physical one: the configured prefix in front, only the characters
/// SQS and SNS accept, and cut to their length limits with a hash of the whole name so two long names stay apart.
/// </summary>
public static partial class SqsNames
{
    public const int MaxQueueName = 80;
    public const int MaxTopicName = 256;
    public const string ErrorSuffix = "_error";
    public const string SkippedSuffix = "_skipped";

    private const int HashLength = 8;

    public static bool IsValidNamePart(string text) => ValidName().IsMatch(text);

    /// <summary>A name with every character SQS and SNS refuse replaced by <c>_</c>.</summary>
    public static string Logical(string name) => Clean(name);

    public static string Queue(string prefix, string logicalName) => Fit(prefix + Clean(logicalName), MaxQueueName);

    public static string Topic(string prefix, string logicalName) => Fit(prefix + Clean(logicalName), MaxTopicName);

    /// <summary>The logical topic name of a message type: namespace and name, generic arguments spelled out between <c>--</c>.</summary>
    public static string TopicFor(Type messageType)
    {
        var name = Clean((messageType.Namespace ?? "global") + "-" + BaseName(messageType));
        if (!messageType.IsGenericType)
            return name;
        return name + "--" + string.Join("--", messageType.GetGenericArguments().Select(TopicFor)) + "--";
    }

    private static string BaseName(Type type)
    {
        var name = type.IsNested && type.DeclaringType is { } outer ? BaseName(outer) + "_" + type.Name : type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    private static string Clean(string name) => InvalidCharacter().Replace(name, "_");

    private static string Fit(string name, int max)
    {
        if (name.Length <= max)
            return name;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..HashLength];
        return name[..(max - HashLength - 1)] + "-" + hash;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]*$")]
    private static partial Regex ValidName();

    [GeneratedRegex("[^A-Za-z0-9_-]")]
    private static partial Regex InvalidCharacter();
}

/// <summary>Names MassTransit's message topology entities (our SNS topics) with <see cref="SqsNames.TopicFor"/>.</summary>
internal sealed class SqsEntityNameFormatter : IEntityNameFormatter
{
    public string FormatEntityName<T>() => SqsNames.TopicFor(typeof(T));
}
