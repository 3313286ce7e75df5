using Microsoft.AspNetCore.Builder;

namespace Sagas.Modules.Api;

public static class MutationEndpoints
{
    /// <summary>The rate-limiting policy the API registers for state-changing routes.</summary>
    public const string Policy = "mutations";

    /// <summary>Marks a route as changing state: rate limited per caller.</summary>
    public static TBuilder Mutation<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.RequireRateLimiting(Policy);
}
