using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Sagas.Core.Configuration;

namespace Sagas.Transports.AmazonSqs;

/// <summary>Settings under <c>Messaging:AmazonSqs</c>; see docs/transports.md.</summary>
public sealed partial class AmazonSqsTransportOptions : IValidatableObject
{
    public const string SectionName = "Messaging:AmazonSqs";

    /// <summary>AWS region, e.g. <c>eu-west-1</c>. Required unless <see cref="ServiceUrl"/> points at an emulator.</summary>
    public string? Region { get; set; }

    /// <summary>One endpoint for SQS and SNS (an emulator or LocalStack); signing then uses <see cref="Region"/> or us-east-1.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Explicit credentials; without them the AWS SDK's default chain (environment, profile, web identity, container or instance role) is used.</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Put in front of every queue and topic name, so environments can share an account (e.g. <c>prod-</c>).</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Messages each receive endpoint holds at once (received, not yet deleted).</summary>
    [Range(1, 1_000)]
    public int PrefetchCount { get; set; } = 16;

    /// <summary>Messages each receive endpoint consumes at once; defaults to <see cref="PrefetchCount"/>.</summary>
    [Range(1, 1_000)]
    public int? ConcurrentMessageLimit { get; set; }

    /// <summary>Long-polling wait of each receive call, 1–20 s.</summary>
    [Range(1, 20)]
    public int WaitTimeSeconds { get; set; } = 20;

    /// <summary>Visibility timeout the queues are created with, renewed while a consumer is still working.</summary>
    [Range(2, 43_200)]
    public int VisibilityTimeoutSeconds { get; set; } = 30;

    public const int MaxPrefixLength = 40;

    internal string SigningRegion => string.IsNullOrWhiteSpace(Region) ? "us-east-1" : Region;

    // Values are not echoed: a secret pasted into the wrong setting must not end up in a log.
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var hasRegion = !string.IsNullOrWhiteSpace(Region);
        var hasServiceUrl = !string.IsNullOrWhiteSpace(ServiceUrl);
        if (!hasRegion && !hasServiceUrl)
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(Region))} is empty; set it to the AWS region of the queues (for example eu-west-1), or set {validationContext.Key(nameof(ServiceUrl))} for an emulator.");
        }

        if (hasRegion && !RegionPattern().IsMatch(Region!))
            yield return new ValidationResult($"{validationContext.Key(nameof(Region))} is not an AWS region name such as eu-west-1 or us-east-2.");
        if (hasServiceUrl
            && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || url.UserInfo.Length > 0))
        {
            yield return new ValidationResult(
                $"{validationContext.Key(nameof(ServiceUrl))} must be an absolute http:// or https:// address without credentials, for example http://127.0.0.1:4566.");
        }

        if (string.IsNullOrWhiteSpace(AccessKey) != string.IsNullOrWhiteSpace(SecretKey))
        {
            var (empty, set) = string.IsNullOrWhiteSpace(AccessKey) ? (nameof(AccessKey), nameof(SecretKey)) : (nameof(SecretKey), nameof(AccessKey));
            yield return new ValidationResult(
                $"{validationContext.Key(empty)} is empty while {set} is set; set both, or neither to use the AWS SDK's default credentials.");
        }

        if (Prefix.Length > MaxPrefixLength || !SqsNames.IsValidNamePart(Prefix))
            yield return new ValidationResult($"{validationContext.Key(nameof(Prefix))} may hold only letters, digits, '-' and '_' and at most {MaxPrefixLength} characters.");
    }

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
    private static partial Regex RegionPattern();
}
