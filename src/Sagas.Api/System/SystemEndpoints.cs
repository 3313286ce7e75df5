using MassTransit;
using Sagas.Contracts.Diagnostics;

namespace Sagas.Api.System;

public static class SystemEndpoints
{
    public static IEndpointRouteBuilder MapSystemEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/system").WithTags("System");

        // Proves the whole path API → broker → worker → broker → API, which /health/ready cannot.
        group.MapPost("/worker-check", async (IRequestClient<CheckWorker> client, CancellationToken cancellationToken) =>
            {
                try
                {
                    var response = await client.GetResponse<WorkerChecked>(new CheckWorker(NewId.NextGuid()), cancellationToken, RequestTimeout.After(s: 10));
                    return Results.Ok(response.Message);
                }
                catch (RequestTimeoutException)
                {
                    return Results.Problem(
                        title: "No worker answered",
                        detail: "No process with a worker role answered within 10 seconds. Check that workers are running and connected to the broker.",
                        statusCode: StatusCodes.Status504GatewayTimeout);
                }
            })
            .WithName("CheckWorker")
            .WithSummary("Round-trips a message through the bus to any worker.");

        return endpoints;
    }
}
