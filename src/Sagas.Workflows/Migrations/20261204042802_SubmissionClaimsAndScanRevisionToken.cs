using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class SubmissionClaimsAndScanRevisionToken : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "claim_id",
                table: "platform_responses",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "claimed_until",
                table: "platform_responses",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "submit_claim_id",
                table: "llm_job_items",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "submit_claimed_until",
                table: "llm_job_items",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "claim_id",
                table: "platform_responses");

            migrationBuilder.DropColumn(
                name: "claimed_until",
                table: "platform_responses");

            migrationBuilder.DropColumn(
                name: "submit_claim_id",
                table: "llm_job_items");

            migrationBuilder.DropColumn(
                name: "submit_claimed_until",
                table: "llm_job_items");
        }
    }
}
