// Lint the TypeScript sources with type information; style is left to the compiler's strict flags.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']", message: 'process.exit belongs in agent/main.ts only' }],
    },
  },
  { files: ['agent/main.ts'], rules: { 'no-restricted-syntax': 'off' } },
  { files: ['eslint.config.js', 'ava.config.js'], ...tseslint.configs.disableTypeChecked },
);
