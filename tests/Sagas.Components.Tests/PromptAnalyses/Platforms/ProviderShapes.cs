namespace Sagas.Components.Tests.PromptAnalyses.Platforms;

/// <summary>Response bodies in the shapes the providers really send (see docs/platforms.md for the sources).</summary>
internal static class ProviderShapes
{
    public const string OpenAiResponseWithWebSearch = """
        {
          "id": "resp_68a1f0c2e5b48190a8e3f1c0d6b2a9e40c3f5b1d2e7a8c90",
          "object": "response",
          "created_at": 1763880000,
          "status": "completed",
          "background": false,
          "error": null,
          "incomplete_details": null,
          "instructions": null,
          "max_output_tokens": null,
          "model": "gpt-6-luna-2026-08-01",
          "output": [
            {
              "type": "web_search_call",
              "id": "ws_68a1f0c3a1dc8190b4f2e6d3c9a7b5e1",
              "status": "completed",
              "action": { "type": "search", "query": "best project management tools for small teams 2026" }
            },
            {
              "type": "web_search_call",
              "id": "ws_68a1f0c4b2ed8190c5a3f7e4dab8c6f2",
              "status": "completed",
              "action": { "type": "open_page", "url": "https://www.acme.com/pricing" }
            },
            {
              "type": "message",
              "id": "msg_68a1f0c6d4f08190e7c5b9a6fcdae8b4",
              "status": "completed",
              "role": "assistant",
              "content": [
                {
                  "type": "output_text",
                  "text": "For small teams, Acme Tasks is a frequent pick thanks to its free tier [acme.com]. Wikipedia lists the common feature set.",
                  "annotations": [
                    { "type": "url_citation", "start_index": 60, "end_index": 80, "url": "https://www.acme.com/blog/best-tools?utm_source=openai", "title": "The best tools for small teams - Acme" },
                    { "type": "url_citation", "start_index": 82, "end_index": 92, "url": "https://www.acme.com/blog/best-tools?utm_source=openai", "title": "The best tools for small teams - Acme" },
                    { "type": "url_citation", "start_index": 94, "end_index": 140, "url": "https://en.wikipedia.org/wiki/Project_management_software", "title": "Project management software - Wikipedia" }
                  ],
                  "logprobs": []
                }
              ]
            }
          ],
          "parallel_tool_calls": true,
          "previous_response_id": null,
          "reasoning": { "effort": null, "summary": null },
          "service_tier": "default",
          "store": false,
          "temperature": 1.0,
          "text": { "format": { "type": "text" }, "verbosity": "medium" },
          "tool_choice": "auto",
          "tools": [ { "type": "web_search", "search_context_size": "medium" } ],
          "top_p": 1.0,
          "truncation": "disabled",
          "usage": {
            "input_tokens": 1520,
            "input_tokens_details": { "cached_tokens": 0 },
            "output_tokens": 412,
            "output_tokens_details": { "reasoning_tokens": 0 },
            "total_tokens": 1932
          },
          "user": null,
          "metadata": {}
        }
        """;

    public const string OpenAiRateLimited = """
        {"error":{"message":"Rate limit reached for gpt-6-luna in organization org-4ZqV on tokens per min (TPM): Limit 30000, Used 29500, Requested 1200. Please try again in 1.4s.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}
        """;

    public const string OpenAiInsufficientQuota = """
        {"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}
        """;

    public const string OpenAiInvalidKey = """
        {"error":{"message":"Incorrect API key provided: sk-test-***-key. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}
        """;

    public const string OpenAiServerError = """
        {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}
        """;

    public const string ClaudeMessageWithWebSearch = """
        {
          "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-5-5",
          "content": [
            { "type": "text", "text": "I'll look up current recommendations." },
            {
              "type": "server_tool_use",
              "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
              "name": "web_search",
              "input": { "query": "best CRM for startups 2026" }
            },
            {
              "type": "web_search_tool_result",
              "tool_use_id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE",
              "content": [
                { "type": "web_search_result", "url": "https://docs.acme.com/crm/overview", "title": "Acme CRM overview", "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y2Q", "page_age": "October 2, 2026" },
                { "type": "web_search_result", "url": "https://www.g2.com/categories/crm", "title": "Best CRM Software", "encrypted_content": "Eo0BCioIAhgBIiQyYjQ0OWJmZi1lNmY", "page_age": null }
              ]
            },
            { "type": "text", "text": "Based on the search results, " },
            {
              "type": "text",
              "text": "Acme CRM is popular with early-stage teams",
              "citations": [
                { "type": "web_search_result_location", "url": "https://docs.acme.com/crm/overview", "title": "Acme CRM overview", "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm", "cited_text": "Acme CRM is used by more than 20,000 startups worldwide." }
              ]
            },
            {
              "type": "text",
              "text": ", while G2 also ranks HubSpot highly.",
              "citations": [
                { "type": "web_search_result_location", "url": "https://www.g2.com/categories/crm", "title": "Best CRM Software", "encrypted_index": "Eo8BCioIAhgBIiQzYjQ0", "cited_text": "HubSpot CRM ranks first for small business." },
                { "type": "web_search_result_location", "url": "https://docs.acme.com/crm/overview", "title": "Acme CRM overview", "encrypted_index": "Eo8BCioIAhgBIiQ0YjQ0", "cited_text": "Acme CRM pricing starts at zero." }
              ]
            }
          ],
          "stop_reason": "end_turn",
          "stop_sequence": null,
          "usage": {
            "input_tokens": 10250,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 412,
            "server_tool_use": { "web_search_requests": 1 },
            "service_tier": "standard"
          }
        }
        """;

    public const string ClaudeRateLimited = """
        {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 50 requests per minute."},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}
        """;

    public const string ClaudeOverloaded = """
        {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fz"}
        """;

    public const string ClaudeInvalidRequest = """
        {"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011CSHoEeqs5C35K2UUqR7G0"}
        """;

    public const string ClaudeAuthentication = """
        {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_011CSHoEeqs5C35K2UUqR7G1"}
        """;

    public const string ClaudeCreditTooLow = """
        {"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."},"request_id":"req_011CSHoEeqs5C35K2UUqR7G2"}
        """;

    public const string GeminiGroundedAnswer = """
        {
          "candidates": [
            {
              "content": {
                "parts": [
                  { "text": "For small teams, Acme Tasks and Trello are common picks. " },
                  { "text": "Acme Tasks offers a free tier." }
                ],
                "role": "model"
              },
              "finishReason": "STOP",
              "index": 0,
              "groundingMetadata": {
                "webSearchQueries": [ "best task manager small team", "acme tasks pricing" ],
                "searchEntryPoint": { "renderedContent": "<style>.container{}</style><div class=\"container\"></div>" },
                "groundingChunks": [
                  { "web": { "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQE3kxT0b7Q", "title": "acme.com" } },
                  { "web": { "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQHqPz8mK2w", "title": "www.trello.com" } },
                  { "web": { "uri": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AUZIYQE3kxT0b7Q", "title": "acme.com" } }
                ],
                "groundingSupports": [
                  {
                    "segment": { "startIndex": 0, "endIndex": 55, "text": "For small teams, Acme Tasks and Trello are common picks." },
                    "groundingChunkIndices": [ 0, 1 ],
                    "confidenceScores": [ 0.95, 0.81 ]
                  }
                ]
              }
            }
          ],
          "usageMetadata": {
            "promptTokenCount": 9,
            "candidatesTokenCount": 120,
            "toolUsePromptTokenCount": 310,
            "thoughtsTokenCount": 40,
            "totalTokenCount": 479,
            "promptTokensDetails": [ { "modality": "TEXT", "tokenCount": 9 } ]
          },
          "modelVersion": "gemini-3.8-flash",
          "responseId": "mK1gaPzGA9mZ1dkP2o6qkQ4"
        }
        """;

    public const string GeminiPerMinuteQuota = """
        {
          "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
              {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                  {
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": { "location": "global", "model": "gemini-3.8-flash" },
                    "quotaValue": "10"
                  }
                ]
              },
              { "@type": "type.googleapis.com/google.rpc.Help", "links": [ { "description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits" } ] },
              { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "38s" }
            ]
          }
        }
        """;

    public const string GeminiPerDayQuota = """
        {"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-3.8-flash"},"quotaValue":"250"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"14s"}]}}
        """;

    public const string GeminiInvalidKey = """
        {"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}
        """;

    public const string GeminiUnavailable = """
        {"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}
        """;

    public const string PerplexityCompleted = """
        {
          "id": "resp_8f2b0c6e-3d1a-4b7e-9c55-2a9e1f0d7b31",
          "object": "response",
          "created_at": 1763880000,
          "model": "perplexity/sonar",
          "status": "completed",
          "output": [
            {
              "type": "search_results",
              "queries": [ "best crm for startups" ],
              "results": [
                { "id": 1, "url": "https://www.acme.com/crm", "title": "Acme CRM", "snippet": "Acme CRM helps startups track deals.", "date": "2026-10-02", "last_updated": "2026-11-01", "source": "web" },
                { "id": 2, "url": "https://techcrunch.com/2026/10/12/crm-roundup/", "title": "The CRM roundup", "snippet": "Startups compare five CRMs.", "date": "2026-10-12", "source": "web" },
                { "id": 3, "url": "https://www.acme.com/crm", "title": "Acme CRM", "snippet": "Acme CRM helps startups track deals.", "date": "2026-10-02", "source": "web" }
              ]
            },
            {
              "type": "message",
              "id": "msg_5c1e9a7d-0b3f-4e2a-8d6c-1f9b7e3a2c40",
              "status": "completed",
              "role": "assistant",
              "content": [
                {
                  "type": "output_text",
                  "text": "Acme CRM [1] is a common choice for startups; TechCrunch compares it with four others [2].",
                  "annotations": [
                    { "type": "url_citation", "start_index": 0, "end_index": 12, "title": "Acme CRM", "url": "https://www.acme.com/crm" }
                  ]
                }
              ]
            }
          ],
          "usage": {
            "input_tokens": 812,
            "output_tokens": 265,
            "total_tokens": 1077,
            "cost": {
              "currency": "USD",
              "input_cost": 0.000812,
              "output_cost": 0.000265,
              "tool_calls_cost": 0.005,
              "total_cost": 0.006077
            },
            "tool_calls_details": { "web_search": { "invocation": 1 } }
          }
        }
        """;

    public const string PerplexityFailed = """
        {"id":"resp_2d7c4e1a-9b0f-4c3e-a6d8-5e1f2b3c4d5e","object":"response","created_at":1763880000,"model":"perplexity/sonar","status":"failed","output":[],"error":{"message":"Upstream model timed out while generating the answer.","type":"server_error","code":"upstream_timeout"}}
        """;

    public const string PerplexityUnknownField = """
        {"error":{"message":"Unrecognized request argument supplied: temperature","type":"invalid_request_error","code":400}}
        """;

    public const string PerplexityUnauthorized = """
        {"error":{"message":"Invalid API key provided.","type":"authentication_error","code":401}}
        """;
}
