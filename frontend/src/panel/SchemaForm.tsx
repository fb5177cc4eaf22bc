// Loaded only when a node's panel opens (the form library and its validator are the canvas's heaviest parts).
import { useMemo } from "react";
import Form from "@rjsf/core";
import {
  createSchemaUtils,
  deepEquals,
  type Experimental_DefaultFormStateBehavior,
  type RegistryFieldsType,
  type RegistryWidgetsType,
  type RJSFSchema,
} from "@rjsf/utils";
import { customizeValidator } from "@rjsf/validator-ajv8";
import type { JsonSchema } from "../api/types";
import { RuleField } from "../conditions/RuleField";
import { DurationWidget } from "./DurationWidget";
import { JsonField } from "./JsonField";
import { LiquidWidget } from "./LiquidWidget";
import { PreviewContactPicker } from "./PreviewContactPicker";
import { ReferenceField } from "./ReferenceField";
import { needsPreviewContact, uiSchemaFor, withoutNullOptions, withoutUntouchedDefaults, withPlainDefaults } from "./schemaUi";
import { WindowField } from "./WindowField";
import "./panel.css";

interface SchemaFormProps {
  schema: JsonSchema;
  config: Record<string, unknown>;
  /** Shown to read (a viewer): every field disabled, the preview contact still choosable (previews store nothing). */
  readOnly?: boolean;
  onChange: (config: Record<string, unknown>) => void;
}

// The editors that annotations name (schemaUi.ts maps annotations to these names): one entry each.
const fields: RegistryFieldsType = { json: JsonField, reference: ReferenceField, window: WindowField, rule: RuleField };
const widgets: RegistryWidgetsType = { duration: DurationWidget, liquid: LiquidWidget };

// The server's durations may be negative (an offset before a date: "-P3D"); ajv's own format refuses a sign.
const validator = customizeValidator({
  customFormats: { duration: /^[-+]?P(?!$)(\d+W|(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)$/ },
});
const defaultsBehavior: Experimental_DefaultFormStateBehavior = { emptyObjectFields: "populateRequiredDefaults" };

export default function SchemaForm({ schema, config, readOnly = false, onChange }: SchemaFormProps) {
  const formSchema = useMemo(() => withoutNullOptions(schema) as RJSFSchema, [schema]);
  const uiSchema = useMemo(() => uiSchemaFor(formSchema), [formSchema]);
  const schemaUtils = useMemo(() => createSchemaUtils(validator, formSchema, defaultsBehavior), [formSchema]);
  const shown = useMemo(() => withPlainDefaults(formSchema, config), [formSchema, config]);
  return (
    <div className="schema-form">
      {needsPreviewContact(formSchema) && <PreviewContactPicker />}
      {/* The fieldset disables the custom fields' own controls too (rule builders, pickers, JSON editors). */}
      <fieldset className="schema-form-fields" disabled={readOnly}>
      <Form
        schema={formSchema}
        disabled={readOnly}
        uiSchema={uiSchema}
        formData={shown}
        validator={validator}
        fields={fields}
        widgets={widgets}
        liveValidate
        showErrorList={false}
        experimental_defaultFormStateBehavior={defaultsBehavior}
        onChange={(event) => {
          const next = (event.formData ?? {}) as Record<string, unknown>;
          // The form also reports the config with its defaults filled in, on opening and after an undo or redo
          // changed the config under it: that is no edit, and saving it would cut the redo history.
          if (deepEquals(next, shown) || deepEquals(next, schemaUtils.getDefaultFormState(formSchema, shown))) return;
          onChange(withoutUntouchedDefaults(formSchema as JsonSchema, config, next));
        }}
      >
        {/* The draft saves itself: no submit button. */}
        <></>
      </Form>
      </fieldset>
    </div>
  );
}
