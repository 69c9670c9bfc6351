using System;
using System.Collections.Generic;
using System.Linq;
using KernelDsl.Compiler.Model;
using KernelDsl.Compiler.Model.Expressions;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// Lowers one modifier body into the expression IR, from Roslyn's operation tree: there every implicit
/// conversion C# applies (int → float promotion, float → double, ...) is an explicit conversion node, so the
/// IR gets the exact C# types without re-deriving the promotion rules, and every constant (literals, const
/// fields and locals, constant subexpressions) arrives already folded.
/// Supported here: the positive list below. Everything else falls through to <c>Unsupported</c>
/// (ModifierTranslator.Diagnostics.cs), which names the construct — default-deny, in one place.
/// </summary>
internal sealed partial class ModifierTranslator
{
    private readonly SemanticModel _model;
    private readonly string _method;
    private readonly IReadOnlyDictionary<IParameterSymbol, ModifierInput> _inputs;
    private readonly IReadOnlyDictionary<IParameterSymbol, CapturedBuffer> _buffers;
    private readonly List<LocatedDiagnostic> _diagnostics;
    private readonly Dictionary<ILocalSymbol, ExprType> _locals = new(SymbolEqualityComparer.Default);

    /// <summary>Locals whose declaration was reported: reads of them report nothing more.</summary>
    private readonly HashSet<ILocalSymbol> _failed = new(SymbolEqualityComparer.Default);

    public ModifierTranslator(
        SemanticModel model,
        string method,
        IReadOnlyDictionary<IParameterSymbol, ModifierInput> inputs,
        IReadOnlyDictionary<IParameterSymbol, CapturedBuffer> buffers,
        List<LocatedDiagnostic> diagnostics)
    {
        _model = model;
        _method = method;
        _inputs = inputs;
        _buffers = buffers;
        _diagnostics = diagnostics;
    }

    /// <summary>The body: local declarations, then one final return. Null after reporting (or when C# itself has errors there).</summary>
    public ModifierBody? Translate(MethodDeclarationSyntax declaration)
    {
        if (_model.GetOperation(declaration) is not IMethodBodyOperation { } method || (method.BlockBody ?? method.ExpressionBody) is not { } block)
        {
            return null;
        }

        int before = _diagnostics.Count;
        var locals = new List<LocalBinding>();
        Expr? result = null;
        bool returned = false;
        foreach (var statement in block.Operations)
        {
            if (returned)
            {
                Unsupported(statement);
            }
            else if (statement is IVariableDeclarationGroupOperation group)
            {
                Declare(group, locals);
            }
            else if (statement is IReturnOperation { ReturnedValue: { } value })
            {
                result = Translate(value);
                returned = true;
            }
            else
            {
                Unsupported(statement);
            }
        }

        return result is null || _diagnostics.Count != before ? null : new ModifierBody(locals.ToEquatableArray(), result);
    }

    private void Declare(IVariableDeclarationGroupOperation group, List<LocalBinding> locals)
    {
        foreach (var declaration in group.Declarations)
        {
            foreach (var declarator in declaration.Declarators)
            {
                var local = declarator.Symbol;
                if (local.IsConst)
                {
                    continue; // every read of a const local is folded to its value
                }

                _failed.Add(local);
                if (local.IsRef || local.IsUsing || local.Type.TypeKind == TypeKind.Dynamic)
                {
                    Unsupported(group);
                    continue;
                }

                var value = declarator.GetVariableInitializer()?.Value;
                if (value is null)
                {
                    Report(declarator.Syntax, "A local without an initializer", "give it its value where it is declared, e.g. 'var x = q - kv;'");
                    continue;
                }

                if (Translate(value) is not { } expr || TypeOf(local.Type, declarator.Syntax) is not { } type)
                {
                    continue;
                }

                _failed.Remove(local);

                _locals[local] = type;
                locals.Add(new LocalBinding(local.Name, expr));
            }
        }
    }

    /// <summary>
    /// The syntax each IR node was translated from (by reference: structurally equal nodes at two places keep their
    /// own syntax), so that a later check of the IR (the derivative's, KDSL0037) can report at the exact expression.
    /// </summary>
    public IReadOnlyDictionary<Expr, SyntaxNode> Origins => _origins;

    private readonly Dictionary<Expr, SyntaxNode> _origins = new(ReferenceComparer.Instance);

    private Expr? Translate(IOperation operation)
    {
        var expr = TranslateOperation(operation);
        if (expr is not null && !_origins.ContainsKey(expr))
        {
            _origins[expr] = operation.Syntax;
        }

        return expr;
    }

    private sealed class ReferenceComparer : IEqualityComparer<Expr>
    {
        public static readonly ReferenceComparer Instance = new();

        public bool Equals(Expr? x, Expr? y) => ReferenceEquals(x, y);

        public int GetHashCode(Expr obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }

    private Expr? TranslateOperation(IOperation operation)
    {
        if (operation.ConstantValue.HasValue)
        {
            return Constant(operation);
        }

        switch (operation)
        {
            case IConversionOperation conversion:
                return Convert(conversion);
            case IParameterReferenceOperation parameter when _inputs.TryGetValue(parameter.Parameter, out var input):
                return new ParameterExpr(input);
            case IPropertyReferenceOperation { Property.IsIndexer: true, Instance: IParameterReferenceOperation target, Arguments.Length: 1 } indexer
                when _buffers.TryGetValue(target.Parameter, out var buffer) && indexer.Arguments[0].Value.Type?.SpecialType == SpecialType.System_Int32:
                return Translate(indexer.Arguments[0].Value) is { } index ? new BufferReadExpr(buffer.Name, index, buffer.ElementType) : null;
            case var use when BufferUsed(use) is { } usedBuffer:
                Report(KernelDsl.Compiler.Diagnostics.DiagnosticCatalog.CapturedBufferUse, use.Syntax, usedBuffer, Shorten(use.Syntax.ToString()), _method);
                return null;
            case ILocalReferenceOperation local when _locals.TryGetValue(local.Local, out var localType):
                return new LocalExpr(local.Local.Name, localType);
            case IBinaryOperation binary when Binary(binary.OperatorKind) is { } op && binary.OperatorMethod is null && !binary.IsChecked:
                return TypeOf(binary.Type, binary.Syntax) is { } binaryType
                    ? Both(binary.LeftOperand, binary.RightOperand, (left, right) => new BinaryExpr(op, left, right, binaryType))
                    : null;
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Plus, OperatorMethod: null } plus:
                return Translate(plus.Operand);
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Minus or UnaryOperatorKind.Not, OperatorMethod: null, IsChecked: false } unary:
                return Translate(unary.Operand) is { } operand
                    ? Typed(unary, type => new UnaryExpr(unary.OperatorKind == UnaryOperatorKind.Minus ? UnaryOperator.Negate : UnaryOperator.Not, operand, type))
                    : null;
            case IConditionalOperation { WhenFalse: { } whenFalse, IsRef: false } conditional when conditional.Type is not null:
                if (TypeOf(conditional.Type, conditional.Syntax) is not { } conditionalType)
                {
                    return null;
                }

                var condition = Translate(conditional.Condition);
                return Both(conditional.WhenTrue, whenFalse, (a, b) => condition is null ? null : new ConditionalExpr(condition, a, b, conditionalType));
            case IInvocationOperation invocation when MathMappings.Find(invocation.TargetMethod) is { } function:
                return Call(invocation, function);
            case ILocalReferenceOperation local when _failed.Contains(local.Local):
            case IInvalidOperation:
                return null; // already reported (by C#, or at the local's declaration)
            default:
                Unsupported(operation);
                return null;
        }
    }

    /// <summary>The buffer an operation uses other than by <c>buffer[int]</c> (passing it, .Length, ^1, slices), if any.</summary>
    private string? BufferUsed(IOperation operation)
    {
        var target = operation switch
        {
            IParameterReferenceOperation parameter => parameter,
            IPropertyReferenceOperation { Instance: IParameterReferenceOperation parameter } => parameter,
            IInvocationOperation { Instance: IParameterReferenceOperation parameter } => parameter,
            IImplicitIndexerReferenceOperation { Instance: IParameterReferenceOperation parameter } => parameter,
            _ => null,
        };
        return target is not null && _buffers.TryGetValue(target.Parameter, out var buffer) ? buffer.Name : null;
    }

    /// <summary>Translates both operands (reporting in each) before combining, so one build shows every error.</summary>
    private Expr? Both(IOperation left, IOperation right, Func<Expr, Expr, Expr?> combine)
    {
        var l = Translate(left);
        var r = Translate(right);
        return l is null || r is null ? null : combine(l, r);
    }

    private Expr? Typed(IOperation operation, Func<ExprType, Expr> make) =>
        TypeOf(operation.Type, operation.Syntax) is { } type ? make(type) : null;

    private Expr? Constant(IOperation operation)
    {
        if (TypeOf(operation.Type, operation.Syntax) is not { } type)
        {
            return null;
        }

        double value = operation.ConstantValue.Value switch
        {
            bool flag => flag ? 1 : 0,
            int integer => integer,
            float single => single,
            double wide => wide,
            _ => double.NaN,
        };
        return new ConstantExpr(type, value);
    }

    private Expr? Convert(IConversionOperation conversion)
    {
        // The operand and the target type report first (a boxing or dynamic conversion is best named by its type).
        if (Translate(conversion.Operand) is not { } operand || TypeOf(conversion.Type, conversion.Syntax) is not { } target)
        {
            return null;
        }

        if (conversion.OperatorMethod is not null || conversion.IsTryCast || conversion.IsChecked
            || !(conversion.Conversion.IsIdentity || conversion.Conversion.IsNumeric))
        {
            Unsupported(conversion);
            return null;
        }

        return operand.Type == target ? operand : new ConvertExpr(operand, target);
    }

    private Expr? Call(IInvocationOperation invocation, MathFunction function)
    {
        var arguments = invocation.Arguments.OrderBy(argument => argument.Parameter?.Ordinal ?? 0).ToList();
        var translated = arguments.Select(argument => Translate(argument.Value)).ToList();
        if (translated.Any(argument => argument is null))
        {
            return null;
        }

        if (function == MathFunction.Pow && !(arguments[1].Value.ConstantValue.HasValue || PositiveConstant(arguments[0].Value)))
        {
            Report(KernelDsl.Compiler.Diagnostics.DiagnosticCatalog.ModifierPowExponentNotConstant, invocation.Syntax, invocation.Syntax.ToString(), _method);
            return null;
        }

        return Typed(invocation, type => new CallExpr(function, translated.Select(argument => argument!).ToEquatableArray(), type));
    }

    private static bool PositiveConstant(IOperation operation) =>
        operation.ConstantValue is { HasValue: true, Value: var value } && System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) > 0;

    private static BinaryOperator? Binary(BinaryOperatorKind kind) => kind switch
    {
        BinaryOperatorKind.Add => BinaryOperator.Add,
        BinaryOperatorKind.Subtract => BinaryOperator.Subtract,
        BinaryOperatorKind.Multiply => BinaryOperator.Multiply,
        BinaryOperatorKind.Divide => BinaryOperator.Divide,
        BinaryOperatorKind.Remainder => BinaryOperator.Remainder,
        BinaryOperatorKind.LessThan => BinaryOperator.Less,
        BinaryOperatorKind.LessThanOrEqual => BinaryOperator.LessOrEqual,
        BinaryOperatorKind.GreaterThan => BinaryOperator.Greater,
        BinaryOperatorKind.GreaterThanOrEqual => BinaryOperator.GreaterOrEqual,
        BinaryOperatorKind.Equals => BinaryOperator.Equal,
        BinaryOperatorKind.NotEquals => BinaryOperator.NotEqual,
        BinaryOperatorKind.ConditionalAnd => BinaryOperator.And,
        BinaryOperatorKind.ConditionalOr => BinaryOperator.Or,
        _ => null,
    };

    /// <summary>The IR type of a C# type, or null after reporting KDSL0025 at <paramref name="at"/>.</summary>
    private ExprType? TypeOf(ITypeSymbol? type, SyntaxNode at)
    {
        switch (type?.SpecialType)
        {
            case SpecialType.System_Boolean: return ExprType.Bool;
            case SpecialType.System_Int32: return ExprType.Int;
            case SpecialType.System_Single: return ExprType.Float;
            case SpecialType.System_Double: return ExprType.Double;
        }

        if (type is null or { TypeKind: TypeKind.Error })
        {
            return null; // C# reports it
        }

        Report(KernelDsl.Compiler.Diagnostics.DiagnosticCatalog.ModifierTypeUnsupported, at, type.ToDisplayString(), _method);
        return null;
    }
}
