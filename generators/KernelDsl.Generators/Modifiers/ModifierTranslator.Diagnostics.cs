using KernelDsl.Compiler.Diagnostics;
using KernelDsl.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace KernelDsl.Generators.Modifiers;

/// <summary>
/// Default-deny, in one place: every operation the translator does not lower lands here and becomes KDSL0024 at
/// its syntax, naming the construct and what to write instead. A construct missing from this list still gets a
/// diagnostic (the generic last case), only with a less specific message.
/// </summary>
internal sealed partial class ModifierTranslator
{
    private const string Supported = "modifiers support arithmetic, comparisons, &&, ||, !, ?:, casts between int, float and double, const values, locals and Math/MathF " + MathMappings.Supported;

    private void Unsupported(IOperation operation)
    {
        // An expression statement ('x = 1;') is reported at its expression.
        var at = operation is IExpressionStatementOperation statement ? statement.Operation : operation;
        var (construct, instead) = Describe(at);
        Report(at.Syntax, construct, instead);
    }

    private static (string Construct, string Instead) Describe(IOperation operation) => operation switch
    {
        ILoopOperation => ("A loop", "a modifier is evaluated once per (query, key) pair; write a closed form with arithmetic, ?: and Math functions"),
        IConditionalOperation { WhenFalse: null } or IConditionalOperation { Type: null } => ("An 'if' statement", "use the conditional operator 'condition ? a : b', or && and ||, in the return expression"),
        ISwitchOperation or ISwitchExpressionOperation => ("A 'switch'", "use nested conditional operators 'c1 ? a : c2 ? b : c'"),
        IReturnOperation => ("A 'return' before the end of the method", "declare locals, then return once at the end; choose between values with 'condition ? a : b'"),
        IInvocationOperation invocation when MathMappings.IsMath(invocation.TargetMethod.ContainingType) =>
            ($"'{invocation.TargetMethod.ContainingType.Name}.{invocation.TargetMethod.Name}' with {invocation.TargetMethod.Parameters.Length} argument(s)", "the supported Math/MathF functions are " + MathMappings.Supported),
        IInvocationOperation invocation => ($"The call to '{invocation.TargetMethod.Name}'", "a modifier may call only Math/MathF " + MathMappings.Supported + "; write the called method's expression inline"),
        IObjectCreationOperation or IArrayCreationOperation or IAnonymousObjectCreationOperation or ITypeParameterObjectCreationOperation or IDelegateCreationOperation =>
            ("Allocation", "a modifier runs inside the kernel and cannot allocate; compute with int, float and double locals"),
        IVariableDeclarationGroupOperation => ("A ref, using or dynamic local", "declare plain int, float, double or bool locals with an initializer"),
        IFieldReferenceOperation { Field.IsStatic: false } field => ($"The instance field '{field.Field.Name}'", "modifiers are static and cannot read instance state; use a const field or a literal"),
        IFieldReferenceOperation field => ($"The non-const field '{field.Field.Name}'", "only const fields are compiled into the kernel; declare it 'const'"),
        IArrayElementReferenceOperation or IPropertyReferenceOperation { Property.IsIndexer: true } or IInlineArrayAccessOperation => ("Indexing", "only captured buffers can be indexed: add a parameter such as [Captured(\"Hq\")] ReadOnlySpan<float> slopes and read slopes[h]"),
        IPropertyReferenceOperation property => ($"The property '{property.Property.Name}'", "use a const field or a literal instead"),
        IInstanceReferenceOperation => ("Instance state ('this')", "modifiers are static; use const fields and the modifier's parameters"),
        IDynamicInvocationOperation or IDynamicMemberReferenceOperation or IDynamicIndexerAccessOperation or IDynamicObjectCreationOperation => ("'dynamic'", "use int, float, double or bool"),
        IThrowOperation => ("Throwing an exception", "return a value instead: a very negative score, or false to mask the key"),
        ISimpleAssignmentOperation or ICompoundAssignmentOperation or IDeconstructionAssignmentOperation or ICoalesceAssignmentOperation =>
            ("Assignment", "values are immutable in a modifier; declare a new local instead, e.g. 'var y = x * 2f;'"),
        IIncrementOrDecrementOperation => ("'++' and '--'", "write 'x + 1' into a new local"),
        IBinaryOperation { IsChecked: true } or IUnaryOperation { IsChecked: true } or IConversionOperation { IsChecked: true } => ("Checked arithmetic", "remove 'checked'; int arithmetic wraps as in C#"),
        IBinaryOperation { OperatorMethod: not null } or IUnaryOperation { OperatorMethod: not null } or IConversionOperation { OperatorMethod: not null } =>
            ("A user-defined operator", "compute with int, float and double"),
        IBinaryOperation binary => ($"The operator '{OperatorText(binary)}'", "use && and || for bool; bit operations and shifts are not supported, write them with * / % instead"),
        IUnaryOperation unary => ($"The operator '{OperatorText(unary)}'", "use - and ! only"),
        IConversionOperation conversion => ($"The conversion to '{conversion.Type?.ToDisplayString()}'", "convert only between int, float and double"),
        IIsPatternOperation or IIsTypeOperation or ISwitchExpressionArmOperation => ("Pattern matching", "use comparisons such as 'q >= 0 && q < 64'"),
        IAnonymousFunctionOperation or ILocalFunctionOperation => ("A lambda or local function", "write the expression inline, or in a local"),
        ICoalesceOperation or IConditionalAccessOperation => ("Null handling ('??', '?.')", "modifier values are never null; use int, float, double or bool"),
        IInterpolatedStringOperation or ILiteralOperation { Type.SpecialType: SpecialType.System_String } => ("A string", "modifiers compute numbers; use int, float, double or bool"),
        ITryOperation or IUsingOperation or ILockOperation or IBranchOperation or ILabeledOperation or IBlockOperation or IEmptyOperation =>
            ($"The '{FirstWord(operation.Syntax)}' statement", "a modifier body holds local declarations and one final return"),
        _ => ($"'{Shorten(operation.Syntax.ToString())}'", Supported),
    };

    private void Report(SyntaxNode at, string construct, string instead) =>
        Report(DiagnosticCatalog.ModifierConstructUnsupported, at, construct, _method, instead);

    private void Report(DiagnosticDescriptorInfo descriptor, SyntaxNode at, params string[] arguments) =>
        _diagnostics.Add(LocatedDiagnostic.Create(descriptor, LocationInfo.From(at), arguments));

    private static string OperatorText(IOperation operation) => operation.Syntax switch
    {
        BinaryExpressionSyntax binary => binary.OperatorToken.Text,
        PrefixUnaryExpressionSyntax prefix => prefix.OperatorToken.Text,
        _ => operation.Syntax.ToString(),
    };

    private static string FirstWord(SyntaxNode syntax) => syntax.GetFirstToken().Text;

    private static string Shorten(string text) => text.Length <= 40 ? text : text.Substring(0, 37) + "...";
}
