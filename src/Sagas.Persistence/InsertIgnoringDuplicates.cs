using System.Data.Common;
using System.Globalization;
using System.Linq.Expressions;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Sagas.Persistence;

/// <summary>
/// <c>INSERT … ON CONFLICT (primary key) DO NOTHING RETURNING column</c>, which EF Core cannot express, written from the
/// model rather than by hand: the table, the columns and every value's store type come from the entity's mapping, so
/// the row is stored exactly as <c>SaveChanges</c> would store it, value converters included. (A parameter typed from
/// the CLR type alone skips them: on SQLite a <see cref="DateTimeOffset"/> then lands as text in a column the model
/// reads as a 64-bit number, and reads back as year 1.)
/// </summary>
public static class InsertIgnoringDuplicates
{
    /// <summary>
    /// Inserts <paramref name="rows"/> in the given order in one statement, inside the context's current transaction if
    /// it has one; a row whose primary key is already taken is skipped.
    /// </summary>
    /// <returns><paramref name="returning"/> of every row actually inserted.</returns>
    public static async Task<List<TValue>> InsertIgnoringDuplicatesAsync<TEntity, TValue>(
        this DbContext db,
        IReadOnlyList<TEntity> rows,
        Expression<Func<TEntity, TValue>> returning,
        CancellationToken cancellationToken)
        where TEntity : class
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(returning);
        if (rows.Count == 0)
            return [];

        var entity = db.Model.FindEntityType(typeof(TEntity))
            ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not part of the model of {db.GetType().Name}.");
        var table = StoreObjectIdentifier.Create(entity, StoreObjectType.Table)
            ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not mapped to a table.");
        var key = entity.FindPrimaryKey()
            ?? throw new InvalidOperationException($"{typeof(TEntity).Name} has no primary key to detect duplicates by.");
        var columns = entity.GetProperties().Where(p => p.GetColumnName(table) is not null).ToList();
        var returned = ReturnedProperty(entity, returning);

        var sql = db.GetService<ISqlGenerationHelper>();
        string Column(IProperty property) => sql.DelimitIdentifier(property.GetColumnName(table)!);

        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            var text = new StringBuilder("INSERT INTO ")
                .Append(sql.DelimitIdentifier(table.Name, table.Schema))
                .Append(" (").AppendJoin(", ", columns.Select(Column)).Append(") VALUES ");
            for (var row = 0; row < rows.Count; row++)
            {
                text.Append(row == 0 ? "(" : ", (");
                for (var column = 0; column < columns.Count; column++)
                {
                    var property = columns[column];
                    var name = "@p" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
                    var value = property.GetGetter().GetClrValueUsingContainingEntity(rows[row]);
                    // The property's own mapping carries its converter and store type; CreateParameter applies both.
                    DbParameter parameter = property.GetRelationalTypeMapping().CreateParameter(command, name, value, property.IsNullable);
                    command.Parameters.Add(parameter);
                    text.Append(column == 0 ? "" : ", ").Append(name);
                }

                text.Append(')');
            }

            text.Append(" ON CONFLICT (").AppendJoin(", ", key.Properties.Select(Column)).Append(") DO NOTHING RETURNING ").Append(Column(returned));
            command.CommandText = text.ToString();

            var mapping = returned.GetRelationalTypeMapping();
            var inserted = new List<TValue>(rows.Count);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var stored = reader.GetValue(0);
                var value = mapping.Converter is { } converter ? converter.ConvertFromProvider(stored) : stored;
                inserted.Add(value is TValue typed ? typed : (TValue)Convert.ChangeType(value!, typeof(TValue), CultureInfo.InvariantCulture));
            }

            return inserted;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static IProperty ReturnedProperty<TEntity, TValue>(IEntityType entity, Expression<Func<TEntity, TValue>> returning)
    {
        var body = returning.Body is UnaryExpression { NodeType: ExpressionType.Convert } convert ? convert.Operand : returning.Body;
        return body is MemberExpression { Member.Name: var name } && entity.FindProperty(name) is { } property
            ? property
            : throw new ArgumentException($"'{returning}' does not name a mapped property of {entity.DisplayName()}.", nameof(returning));
    }
}
