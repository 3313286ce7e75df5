using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Sagas.Core.Configuration;
using Sagas.Modules.Api;

namespace Sagas.Api.Infrastructure;

public static class ApiInfrastructure
{
    private const string CorsPolicy = "configured-origins";

    public static WebApplicationBuilder AddApiInfrastructure(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<ApiOptions>(builder.Configuration, ApiOptions.SectionName);
        var options = builder.Configuration.ReadValidatedOptions<ApiOptions>(ApiOptions.SectionName);

        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.Id ?? context.HttpContext.TraceIdentifier;
        });
        builder.Services.AddExceptionHandler<ProblemDetailsExceptionHandler>();

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxJsonBodyBytes);
        builder.Services.Configure<FormOptions>(form => form.MultipartBodyLengthLimit = options.MaxUploadBytes);

        builder.Services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            if (options.CorsOrigins.Count > 0)
                policy.WithOrigins([.. options.CorsOrigins]).AllowAnyHeader().AllowAnyMethod();
        }));

        builder.Services.AddSingleton(new MutationRateLimiter(options.MutationsPerMinute));
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(MutationEndpoints.Policy, context => RateLimitPartition.Get(
                MutationRateLimiter.CallerKey(context),
                caller => context.RequestServices.GetRequiredService<MutationRateLimiter>().For(caller)));
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(global::System.Globalization.CultureInfo.InvariantCulture);
                var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = context.HttpContext.RequestServices.GetRequiredService<MutationRateLimiter>().RefusalMessage,
                    },
                });
            };
        });

        return builder;
    }

    public static WebApplication UseApiInfrastructure(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseCors(CorsPolicy);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }
}
