using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.PromptAnalyses.Data;

/// <summary>
/// One row per platform: the cluster-wide request budget as theoretical arrival times. Written only by the prompt
/// analyses' PostgreSQL budget store, in single atomic statements; mapped here so migrations create it.
/// </summary>
public sealed class PlatformRateLimitRow
{
    public const string TableName = "platform_rate_limits";

    public required string Platform { get; set; }

    /// <summary>The earliest start of the next request by the request rate.</summary>
    public DateTimeOffset RequestHorizon { get; set; }

    /// <summary>The earliest start of the next request by the token rate.</summary>
    public DateTimeOffset TokenHorizon { get; set; }

    /// <summary>No request starts before this (a 429's Retry-After, an exhausted budget until its reset).</summary>
    public DateTimeOffset PausedUntil { get; set; }

    /// <summary>Slower request spacing the provider's headers asked for, valid until <see cref="RequestFloorUntil"/>.</summary>
    public double RequestFloorSeconds { get; set; }

    public DateTimeOffset RequestFloorUntil { get; set; }

    public double TokenFloorSeconds { get; set; }

    public DateTimeOffset TokenFloorUntil { get; set; }

    /// <summary>The slot handed out by the last reservation.</summary>
    public DateTimeOffset LastSlot { get; set; }
}

internal sealed class PlatformRateLimitMapping : IEntityTypeConfiguration<PlatformRateLimitRow>
{
    public void Configure(EntityTypeBuilder<PlatformRateLimitRow> builder)
    {
        builder.ToTable(PlatformRateLimitRow.TableName);
        builder.HasKey(x => x.Platform);
        builder.Property(x => x.Platform).HasMaxLength(32);
    }
}
