// Loaded only when a node's panel opens (the form library and its validator are the canvas's heaviest parts).
import { useMemo, useRef, useState } from "react";
import Form from "@rjsf/core";
import type { FieldProps, RegistryFieldsType, RJSFSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import type { JsonSchema } from "../api/types";
import { RuleField } from "../conditions/RuleField";
import { parseJsonText, uiSchemaFor, withoutNullOptions } from "./schemaUi";

interface SchemaFormProps {
  schema: JsonSchema;
  config: Record<string, unknown>;
  onChange: (config: Record<string, unknown>) => void;
}

export default function SchemaForm({ schema, config, onChange }: SchemaFormProps) {
  const formSchema = useMemo(() => withoutNullOptions(schema), [schema]);
  const uiSchema = useMemo(() => uiSchemaFor(formSchema), [formSchema]);
  // The form reports a change when it fills in defaults on opening; only what the user does is an edit.
  const touched = useRef(false);
  return (
    <div onChangeCapture={() => (touched.current = true)} onInputCapture={() => (touched.current = true)}>
    <Form
      schema={formSchema as RJSFSchema}
      uiSchema={uiSchema}
      formData={config}
      validator={validator}
      fields={fields}
      liveValidate
      showErrorList={false}
      experimental_defaultFormStateBehavior={{ emptyObjectFields: "populateRequiredDefaults" }}
      onChange={(event) => {
        if (touched.current) onChange((event.formData ?? {}) as Record<string, unknown>);
      }}
    >
      {/* The draft saves itself: no submit button. */}
      <></>
    </Form>
    </div>
  );
}

/** Free JSON as text: applied when it parses, with the parse error said in words until it does. */
function JsonField({ formData, onChange, idSchema, schema, name }: FieldProps) {
  const [text, setText] = useState(() => (formData === undefined ? "" : JSON.stringify(formData, null, 2)));
  const [problem, setProblem] = useState<string | null>(null);
  const id = idSchema.$id;
  return (
    <div className="json-field">
      <label htmlFor={id}>{schema.title ?? name} (JSON)</label>
      {schema.description && <p className="muted">{schema.description}</p>}
      <textarea
        id={id}
        value={text}
        rows={4}
        spellCheck={false}
        onChange={(event) => {
          setText(event.target.value);
          const parsed = parseJsonText(event.target.value);
          if ("problem" in parsed) {
            setProblem(parsed.problem);
          } else {
            setProblem(null);
            onChange(parsed.value);
          }
        }}
      />
      {problem && <p className="field-problem">{problem}</p>}
    </div>
  );
}

const fields: RegistryFieldsType = { json: JsonField, rule: RuleField };
